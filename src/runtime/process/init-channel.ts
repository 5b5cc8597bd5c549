import { readSync, writeSync } from 'node:fs';
import type { InitMessage, ParentMessage } from './messages.js';

// The init's end of the sync socket (fd 3). Synchronous on purpose: the init
// must never start libuv's threadpool (see DESIGN.md).

export class InitChannel {
  private buffered = '';
  constructor(private readonly fd = 3) {}

  send(msg: InitMessage): void {
    const data = Buffer.from(JSON.stringify(msg) + '\n');
    for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off);
  }

  /** Blocks for the next message; throws if the parent hung up. */
  receive(): ParentMessage {
    const chunk = Buffer.alloc(65536);
    for (;;) {
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        return JSON.parse(line) as ParentMessage;
      }
      const n = readSync(this.fd, chunk);
      if (n === 0) throw new Error('the runtime closed the sync socket');
      this.buffered += chunk.toString('utf8', 0, n);
    }
  }

  expect<T extends ParentMessage['type']>(type: T): Extract<ParentMessage, { type: T }> {
    const msg = this.receive();
    if (msg.type === 'error') throw new Error(`runtime aborted: ${msg.message}`);
    if (msg.type !== type) throw new Error(`sync: expected "${type}", got "${msg.type}"`);
    return msg as Extract<ParentMessage, { type: T }>;
  }
}
