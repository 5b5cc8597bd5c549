import { setTimeout as delay } from 'node:timers/promises';
import { TsrunError } from '../../errors.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { because } from '../../explain/events.js';
import { readControl, readOptional, writeControl } from './files.js';

// pause/resume. v1: freezer.state takes FROZEN/THAWED and reads FREEZING while the
// kernel is still stopping tasks. v2: cgroup.freeze takes 1/0, and cgroup.events says
// "frozen 1" once every task is stopped. On hybrid hosts the v1 freezer is used when
// mounted, else the cgroup2 directory (its freezer needs no controller).

export interface Freezer {
  kind: 'v1' | 'v2';
  dir: string;
}

export function freezerOf(paths: Record<string, string>): Freezer | undefined {
  if (paths.freezer !== undefined) return { kind: 'v1', dir: paths.freezer };
  if (paths[''] !== undefined) return { kind: 'v2', dir: paths[''] };
  if (paths.unified !== undefined) return { kind: 'v2', dir: paths.unified };
  return undefined;
}

function isDone(f: Freezer): boolean {
  if (f.kind === 'v1') return readControl(f.dir, 'freezer.state') === 'FROZEN';
  return /^frozen 1$/m.test(readControl(f.dir, 'cgroup.events'));
}

export async function freeze(sys: Syscalls, f: Freezer, timeoutMs = 5000): Promise<void> {
  const file = f.kind === 'v1' ? 'freezer.state' : 'cgroup.freeze';
  const value = f.kind === 'v1' ? 'FROZEN' : '1';
  const write = (): void => because('pause: every task of the cgroup stopped', () => writeControl(sys, f.dir, file, value));
  write();
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !isDone(f); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) {
      thaw(sys, f);
      throw new TsrunError('SYSCALL', `freeze ${f.dir}: tasks still not frozen after ${timeoutMs} ms, thawed again`, {
        file: `${f.dir}/${file}`,
        errno: 'EBUSY',
        hint: 'a task may be stuck in the kernel (D state, e.g. on NFS or FUSE); try again',
      });
    }
    await delay(wait);
    // v1 can stall in FREEZING when tasks fork meanwhile; asking again moves it on.
    if (f.kind === 'v1') write();
  }
}

export function thaw(sys: Syscalls, f: Freezer): void {
  because('resume: the cgroup\'s tasks run again', () =>
    writeControl(sys, f.dir, f.kind === 'v1' ? 'freezer.state' : 'cgroup.freeze', f.kind === 'v1' ? 'THAWED' : '0'));
}

/** Frozen or on its way there (FREEZING counts: the tasks are not running). Missing cgroup → false. */
export function isFrozen(f: Freezer): boolean {
  if (f.kind === 'v1') {
    const state = readOptional(f.dir, 'freezer.state');
    return state !== undefined && state !== 'THAWED';
  }
  return readOptional(f.dir, 'cgroup.freeze') === '1';
}
