import type { ChildLike } from '../process/child.js';
import { constants } from 'node:os';

// What `run` and `exec` do while they wait in the foreground: pass the
// signals they get on to the container's process, and report its exit the
// way a shell does (128+n when killed by signal n).

export function exitStatus(child: ChildLike): Promise<number> {
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void =>
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 0));
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
    else child.once('exit', done);
  });
}

/** Forwards `signals` to `pid` until the returned function is called. */
export function forwardSignals(pid: number, signals: NodeJS.Signals[]): () => void {
  const forward = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const s of signals) process.on(s, forward);
  return () => {
    for (const s of signals) process.off(s, forward);
  };
}

/**
 * The exit status of `child` (as exitStatus), passing `signals` on to it
 * until it has been reaped: after that its pid may be another process's.
 */
export function exitStatusForwarding(child: ChildLike, pid: number, signals: NodeJS.Signals[]): Promise<number> {
  return exitStatus(child).finally(forwardSignals(pid, signals));
}
