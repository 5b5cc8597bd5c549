import type { Syscalls } from '../../sys/syscalls.js';
import { TsrunError } from '../../errors.js';
import { SyscallError } from '../../sys/syscalls.js';

// The CLI's end of the stage's sync socket (protocol: stage.c's header).
// Synchronous on purpose: the CLI waits for each answer before its next step,
// and a blocking socket keeps the exchange in order and visible to the fake.

export type StageEntry = readonly [key: string, value: string];

export type StageReply =
  | { type: 'ok' }
  | { type: 'ready' }
  | { type: 'eof' }
  | { type: 'error'; code?: string; message: string; errno?: string };

/** A frame: 4-byte little-endian length, then "key=value\0" entries, "op" first. */
export function encodeFrame(op: string, entries: readonly StageEntry[]): Buffer {
  const body = Buffer.from([['op', op] as const, ...entries].map(([k, v]) => `${k}=${v}\0`).join(''));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

export class StageChannel {
  private buffered = '';
  private closed = false;
  /** fds that came with the stage's lines, in order (the seccomp listener) */
  private fds: number[] = [];
  /** Gets the seccomp listener fd the moment the stage sends it (and closes it); set when the filter notifies. */
  onListenerFd?: (fd: number) => void;

  constructor(
    private readonly sys: Syscalls,
    readonly fd: number,
    private readonly onLog: (level: 'warning' | 'debug', msg: string) => void,
  ) {}

  /** Sends one frame; `fds` go with it (SCM_RIGHTS), named by an "fds" entry. */
  send(op: string, entries: readonly StageEntry[], fds: { name: string; fd: number }[] = []): void {
    const all = fds.length ? [...entries, ['fds', fds.map((f) => f.name).join(',')] as const] : entries;
    const frame = encodeFrame(op, all);
    let sent = this.sys.sendmsgFds(this.fd, frame, fds.map((f) => f.fd));
    while (sent < frame.length) sent += this.sys.sendto(this.fd, frame.subarray(sent), 0, null);
  }

  /** The next reply; warnings and debug lines go to the log on the way. */
  next(): StageReply {
    for (;;) {
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        let msg: StageReply | { type: 'warning'; message: string } | { type: 'debug'; message: string } | { type: 'seccompFd' };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          throw new TsrunError('INIT', `stage: unreadable message: ${line.slice(0, 200)}`);
        }
        if (msg.type === 'warning' || msg.type === 'debug') this.onLog(msg.type, msg.message);
        else if (msg.type === 'seccompFd') this.listenerFd();
        else return msg;
        continue;
      }
      if (this.closed) return { type: 'eof' };
      let got: { data: Buffer; fds: number[] };
      try {
        got = this.sys.recvmsgFds(this.fd, 4096, 4);
      } catch (err) {
        if (err instanceof SyscallError && err.errno === 'EINTR') continue;
        throw err;
      }
      this.fds.push(...got.fds);
      if (got.data.length === 0) this.closed = true;
      else this.buffered += got.data.toString('utf8');
    }
  }

  private listenerFd(): void {
    const fd = this.fds.shift();
    if (fd === undefined) throw new TsrunError('INIT', 'stage: the seccomp listener fd did not come with its message');
    try {
      if (!this.onListenerFd) throw new TsrunError('INIT', 'stage: a seccomp listener fd nobody asked for');
      this.onListenerFd(fd);
    } finally {
      this.sys.close(fd);
    }
  }

  /** The wanted reply, or the stage's error as a TsrunError; EOF means the stage died. */
  expect(type: 'ok' | 'ready' | 'eof'): void {
    const m = this.next();
    if (m.type === type) return;
    if (m.type === 'error') throw new TsrunError('INIT', m.message, { errno: m.errno || undefined });
    if (m.type === 'eof') throw new TsrunError('INIT', 'the container process exited before it was ready');
    throw new TsrunError('INIT', `stage: expected "${type}", got "${m.type}"`);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) this.sys.close(fd);
    this.sys.close(this.fd);
  }
}
