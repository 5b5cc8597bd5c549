import { constants } from 'node:os';
import type { Syscalls } from '../../sys/syscalls.js';

// A process tsrun started itself with posix_spawn (the C stage), with the
// part of node:child_process's ChildProcess that the runtime uses. Loading
// node:child_process (with net, streams and dgram) costs a `run` 2–4 ms and
// 2 MB; posix_spawn from the thread that is inside the namespaces is all a
// stage needs. Its exit is waited for only when asked (`create` leaves the
// stage running): waitpid(WNOHANG) once, then on each SIGCHLD, with an idle
// timer keeping the event loop alive meanwhile. Not a blocking waitpid on a pool
// thread: Node's exit waits for its pool, so an error exit would hang until
// the container ended.

/** What the runtime needs of a child: ChildProcess has it, and so does SpawnedChild. */
export interface ChildLike {
  readonly pid?: number;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal?: NodeJS.Signals | number): boolean;
  unref(): void;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** exit code and signal of a raw wait status (WIFEXITED / WTERMSIG). */
export function decodeWaitStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: SIGNAL_NAMES.get(sig) ?? 'SIGKILL' };
}

export class SpawnedChild implements ChildLike {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private waited?: Promise<void>;

  constructor(
    private readonly sys: Syscalls,
    readonly pid: number,
  ) {}

  once(_event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this {
    void this.wait().then(() => listener(this.exitCode, this.signalCode));
    return this;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    try {
      this.sys.kill(this.pid, typeof signal === 'number' ? signal : constants.signals[signal]);
      return true;
    } catch {
      return false;
    }
  }

  /** Nothing holds the event loop until someone waits; after this, a wait does not either. */
  unref(): void {
    this.unrefd = true;
    this.timer?.unref();
  }

  private unrefd = false;
  private timer?: NodeJS.Timeout;

  private wait(): Promise<void> {
    this.waited ??= new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        process.off('SIGCHLD', check);
        clearInterval(this.timer);
        this.exitCode = code;
        this.signalCode = signal;
        resolve();
      };
      const check = (): void => {
        let status: number | undefined;
        try {
          status = this.sys.waitpidNoHang(this.pid);
        } catch {
          return done(null, 'SIGKILL'); // not ours to wait for any more (reaped elsewhere)
        }
        if (status === undefined) return;
        const { code, signal } = decodeWaitStatus(status);
        done(code, signal);
      };
      // Each SIGCHLD (coalesced or another child's) checks this pid; the first check covers an exit
      // before the listener. The timer only keeps the event loop alive while the caller waits.
      process.on('SIGCHLD', check);
      this.timer = setInterval(() => {}, 2 ** 30);
      if (this.unrefd) this.timer.unref();
      check();
    });
    return this.waited;
  }
}
