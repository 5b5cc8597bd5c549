import { constants } from 'node:os';
import type { Syscalls } from '../../sys/syscalls.js';

// A process tsrun started itself with posix_spawn (the C stage), with the
// part of node:child_process's ChildProcess that the runtime uses. Loading
// node:child_process (with net, streams and dgram) costs a `run` 2–4 ms and
// 2 MB; posix_spawn from the thread that is inside the namespaces is all a
// stage needs. Its exit is waited for on a pool thread, and only when asked:
// `create` leaves the stage running and never waits.

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

  /** Nothing holds the event loop until someone waits. */
  unref(): void {}

  private wait(): Promise<void> {
    this.waited ??= this.sys.waitpidAsync(this.pid).then(
      (status) => {
        const { code, signal } = decodeWaitStatus(status);
        this.exitCode = code;
        this.signalCode = signal;
      },
      () => {
        // not ours to wait for any more (reaped elsewhere): report it as killed
        this.signalCode = 'SIGKILL';
      },
    );
    return this.waited;
  }
}
