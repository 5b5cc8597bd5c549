import { readFileSync } from 'node:fs';
import type { Syscalls } from '../../sys/syscalls.js';
import { O } from '../../sys/constants.js';
import { because } from '../../explain/events.js';
import { detectLayout } from './layout.js';

// Moving a task into a cgroup takes a lock shared by every hierarchy, and the
// first mover after a quiet spell waits for an RCU grace period: 5–20 ms on
// this kind of machine, measured, longer than all the rest of the join. Movers
// that come within about a grace period of the last one do not wait. So create
// and exec start a move that changes nothing — tsrun into the cgroup it is
// already in — on a pool thread while the bundle loads; the container's own
// join then finds the lock warm instead of paying the wait on the main thread.
// (The lock cools a grace period after its last mover: create moves twice, at
// its start and once the bundle is valid, so short and long grace periods are
// both covered.)

/** The cgroup.procs file of the cgroup this process is in, in one hierarchy tsrun writes to. */
export function ownProcsFile(cgroupText: string, hierarchies: Record<string, string>): string | undefined {
  for (const line of cgroupText.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    const [, controllers, path] = m as unknown as [string, string, string];
    const key = controllers === '' ? '' : controllers.split(',').find((c) => hierarchies[c] !== undefined);
    const mount = key === undefined ? undefined : hierarchies[key];
    if (mount !== undefined) return `${mount.replace(/\/+$/, '')}${path === '/' ? '' : path}/cgroup.procs`;
  }
  return undefined;
}

/**
 * Starts the no-op move; never throws and never rejects (it only saves time).
 * The returned promise ends when the kernel has answered.
 */
export function warmCgroupMigration(sys: Syscalls, root = '/sys/fs/cgroup'): Promise<void> {
  let fd: number | undefined;
  try {
    const layout = detectLayout(root);
    const file = layout && ownProcsFile(readFileSync('/proc/self/cgroup', 'utf8'), layout.hierarchies);
    if (!file) return Promise.resolve();
    fd = because('cgroup: a move of tsrun into its own cgroup waits out the kernel\'s grace period while the bundle loads', () => sys.open(file, O.WRONLY | O.CLOEXEC));
    const opened = fd;
    return sys
      .writeAsync(opened, String(process.pid))
      .then(
        () => sys.close(opened),
        () => sys.close(opened),
      )
      .catch(() => undefined);
  } catch {
    if (fd !== undefined) sys.close(fd);
    return Promise.resolve();
  }
}
