import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { TsrunError } from '../../errors.js';
import type { InitMessage, ParentMessage } from './messages.js';

// The runtime's end of the sync socket. `expect` resolves with the next
// message of the wanted type; an init error, a surprise or the init dying
// rejects with a clear error.

export class ParentChannel {
  private buffered = '';
  private queue: InitMessage[] = [];
  private waiter?: { resolve: (m: InitMessage) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(
    private readonly socket: Socket,
    child: ChildProcess,
    private readonly onLog: (level: 'warning' | 'debug', msg: string) => void,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.fail(new TsrunError('INIT', `container init exited before it was ready (${how})`));
    });
  }

  private onData(d: string): void {
    this.buffered += d;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let msg: InitMessage;
      try {
        msg = JSON.parse(line) as InitMessage;
      } catch {
        this.fail(new TsrunError('INIT', `sync: unreadable message from init: ${line.slice(0, 200)}`));
        return;
      }
      if (msg.type === 'warning' || msg.type === 'debug') this.onLog(msg.type, msg.message);
      else this.push(msg);
    }
  }

  private push(msg: InitMessage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(msg);
    } else this.queue.push(msg);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  private next(): Promise<InitMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  send(msg: ParentMessage): void {
    this.socket.write(JSON.stringify(msg) + '\n');
  }

  async expect<T extends InitMessage['type']>(type: T): Promise<Extract<InitMessage, { type: T }>> {
    const m = this.queue.shift() ?? (await this.next());
    if (m.type === 'error') {
      throw new TsrunError((m.code as TsrunError['code']) ?? 'INIT', m.message, { errno: m.errno });
    }
    if (m.type !== type) throw new TsrunError('INIT', `sync: expected "${type}" from init, got "${m.type}"`);
    return m as Extract<InitMessage, { type: T }>;
  }

  close(): void {
    this.socket.destroy();
  }
}
