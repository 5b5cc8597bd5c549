import { readFileSync } from 'node:fs';
import type { Syscalls } from '../../sys/syscalls.js';
import { MNT_DETACH, MS, O } from '../../sys/constants.js';

interface MountEntry {
  id: string;
  parent: string;
  mountPoint: string;
  shared: boolean;
  fstype: string;
}

/** The calling thread's mount namespace's mounts (thread-self: set-up may run on a thread of its own; an inspection, not a kernel effect). */
export function mountTable(): MountEntry[] {
  const unescape = (p: string) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/thread-self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pre = '', post = ''] = line.split(' - ');
      const f = pre.split(' ');
      return { id: f[0]!, parent: f[1]!, mountPoint: unescape(f[4]!), shared: f.slice(6).some((o) => o.startsWith('shared:')), fstype: post.split(' ')[0]! };
    });
}

/**
 * pivot_root fails with EINVAL when the new root mount, its parent or the
 * current root is shared (rootfsPropagation "shared"/"rshared" makes them so;
 * runc avoids it by making the parent private before the rootfs bind). Make
 * just those three private in our mount namespace; the container's own
 * mounts keep the propagation the config asked for.
 */
function unshareParents(sys: Syscalls, rootfs: string): void {
  const mounts = mountTable();
  const newRoot = mounts.filter((m) => m.mountPoint === rootfs).at(-1);
  const parent = newRoot && mounts.find((m) => m.id === newRoot.parent);
  const root = mounts.find((m) => m.mountPoint === '/');
  for (const m of [newRoot, parent, root]) {
    if (m?.shared) sys.mount(null, m.mountPoint, null, MS.PRIVATE, null);
  }
}

/**
 * Makes `rootfs` the root. pivot_root(".", ".") stacks the old root under the
 * new one; detaching it leaves only the container's tree (no put_old dir needed).
 */
export function pivotRoot(sys: Syscalls, rootfs: string): void {
  const oldRoot = sys.open('/', O.DIRECTORY | O.RDONLY | O.CLOEXEC);
  const newRoot = sys.open(rootfs, O.DIRECTORY | O.RDONLY | O.CLOEXEC);
  try {
    unshareParents(sys, rootfs);
    sys.fchdir(newRoot);
    sys.pivotRoot('.', '.');
    sys.fchdir(oldRoot);
    // Keep the unmount from propagating back to the host.
    sys.mount(null, '.', null, MS.SLAVE | MS.REC, null);
    sys.umount2('.', MNT_DETACH);
    sys.chdir('/');
  } finally {
    sys.close(oldRoot);
    sys.close(newRoot);
  }
}

/**
 * Without pivot_root the old root stays in the mount namespace, under the
 * new one. A procfs or sysfs of the host left there, even out of sight, is
 * what the kernel checks before it lets a user namespace mount a fresh one
 * (mount_too_revealing): detach every one outside the rootfs, or cover it
 * with an empty tmpfs where it cannot be detached (as runc does).
 */
function hideHostProcAndSys(sys: Syscalls, rootfs: string): void {
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const gone: string[] = [];
  for (const m of mountTable()) {
    if ((m.fstype !== 'proc' && m.fstype !== 'sysfs') || under(m.mountPoint, rootfs)) continue;
    if (gone.some((g) => under(m.mountPoint, g))) continue;
    try {
      sys.mount(null, m.mountPoint, null, MS.SLAVE | MS.REC, null);
      sys.umount2(m.mountPoint, MNT_DETACH);
    } catch {
      sys.mount('tmpfs', m.mountPoint, 'tmpfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'size=0');
    }
    gone.push(m.mountPoint);
  }
}

/** --no-pivot: move the rootfs over / and chroot (for ramfs roots, where pivot_root fails). */
export function moveRoot(sys: Syscalls, rootfs: string): void {
  hideHostProcAndSys(sys, rootfs);
  sys.chdir(rootfs);
  sys.mount(rootfs, '/', null, MS.MOVE, null);
  sys.chroot('.');
  sys.chdir('/');
}
