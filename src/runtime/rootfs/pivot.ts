import type { Syscalls } from '../sys/syscalls.js';
import { MNT_DETACH, MS, O } from '../sys/constants.js';

/**
 * Makes `rootfs` the root. pivot_root(".", ".") stacks the old root under the
 * new one; detaching it leaves only the container's tree (no put_old dir needed).
 */
export function pivotRoot(sys: Syscalls, rootfs: string): void {
  const oldRoot = sys.open('/', O.DIRECTORY | O.RDONLY | O.CLOEXEC);
  const newRoot = sys.open(rootfs, O.DIRECTORY | O.RDONLY | O.CLOEXEC);
  try {
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

/** --no-pivot: move the rootfs over / and chroot (for ramfs roots, where pivot_root fails). */
export function moveRoot(sys: Syscalls, rootfs: string): void {
  sys.chdir(rootfs);
  sys.mount(rootfs, '/', null, MS.MOVE, null);
  sys.chroot('.');
  sys.chdir('/');
}
