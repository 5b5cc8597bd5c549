import { readSync } from 'node:fs';
import { AT_FDCWD, O } from '../../sys/constants.js';
import { because } from '../../explain/events.js';
import { TsrunError, errorMessage } from '../../errors.js';
import { fifoPath, withLock } from '../state-store.js';
import { isAlive, sleep } from '../../sys/proc.js';
import { checkStart } from '../status.js';
import { runHooks } from '../../oci-hooks/run.js';
import type { Context } from './context.js';
import { inspect, ociState } from './inspect.js';

// start: open exec.fifo and read the "0" the container's process writes once
// it is let go; then read on to EOF. The process keeps its end open
// (close-on-exec) until execve: EOF right after "0" means the container runs,
// anything else is the error that stopped it. Polls instead of blocking, so a
// dead process cannot hang us. Then the poststart hooks.

type Read = { kind: 'data'; text: string } | { kind: 'eof' } | { kind: 'none' };

function readSome(fd: number): Read {
  const buf = Buffer.alloc(4096);
  try {
    const n = readSync(fd, buf);
    return n === 0 ? { kind: 'eof' } : { kind: 'data', text: buf.toString('utf8', 0, n) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return { kind: 'none' };
    throw err;
  }
}

/** A turn of the event loop, without a timer's 1 ms floor. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How long the wait polls on every turn of the event loop before it backs off to timers. */
const SPIN_MS = 10;

/**
 * Waits for "0", then for EOF; returns what came after "0" (an error text, or "").
 * The process answers within a millisecond or so: the first SPIN_MS poll on each
 * turn of the event loop (a timer would add 1–2 ms to every start), then back off.
 */
async function awaitExec(fd: number, alive: () => boolean, id: string): Promise<string> {
  let got = '';
  let started = false;
  const spinUntil = performance.now() + SPIN_MS;
  for (let delay = 0; ; delay = Math.min(delay * 2 || 1, 20)) {
    const r = readSome(fd);
    if (r.kind === 'data') {
      got += r.text;
      started = true;
      delay = 0;
      continue;
    }
    // Before "0", no writer reads as EOF too: only a dead process ends the wait.
    if (r.kind === 'eof' && started) return got.slice(1);
    if (!started && !alive()) {
      // Between the read above and that check the process may have written "0", exec'd and exited
      // already (a short command, reaped at once by a foreground run): what it wrote is still there.
      const late = readSome(fd);
      if (late.kind === 'data') {
        got += late.text;
        started = true;
        continue;
      }
      throw new TsrunError('INIT', `container "${id}" init died before it could start`);
    }
    if (performance.now() < spinUntil) await nextTurn();
    else await sleep(delay);
  }
}

export async function startContainer(ctx: Context, id: string): Promise<void> {
  await withLock(ctx.sys, ctx.root, id, async () => {
    const c = inspect(ctx.root, id);
    checkStart(c.status);
    const path = fifoPath(ctx.root, id);
    // Opened through the door (--explain shows it); the polling reads stay plain.
    const fd = because('exec.fifo: opening it lets the container\'s process go on to execve', () => ctx.sys.open(path, O.RDONLY | O.NONBLOCK | O.CLOEXEC));
    let failure: string;
    try {
      failure = await awaitExec(fd, () => isAlive(c.record.pid, c.record.initStartTime), id);
    } finally {
      ctx.sys.close(fd);
    }
    because('exec.fifo: started, no longer needed', () => ctx.sys.unlinkat(AT_FDCWD, path, 0));
    if (failure) throw new TsrunError('INIT', failure.trim());
    try {
      await runHooks('poststart', c.record.spec.hooks?.poststart, ociState({ record: c.record, status: 'running' }));
    } catch (err) {
      // runtime-spec: a failing poststart hook is an error, and the container is stopped (poststop runs at delete).
      try {
        ctx.sys.kill(c.record.pid, 9);
      } catch (killErr) {
        ctx.log.warn(`stopping the container after its poststart hook failed: ${errorMessage(killErr)}`);
      }
      throw err;
    }
  });
}
