import { join } from 'node:path';
import { TsrunError, errorMessage } from '../../errors.js';
import { ensureFileInRoot, openInRoot, openRootfs, procFd, removeMadeInRoot, withFd } from '../../common/in-root.js';
import { CLONE, MS, O } from '../../sys/constants.js';
import { errnoOf, type Syscalls } from '../../sys/syscalls.js';

// The container's resolv.conf and hosts are bind-mounted over the image's
// /etc/resolv.conf and /etc/hosts, so the bundle is never written. A bind mount
// needs something to mount over: when the image has the file (the usual case)
// nothing is created; when it lacks it (or /etc), an empty file (and the
// directories) are made in the rootfs, noted, and removed at teardown.
//
// Every path in the rootfs is resolved through an fd of the rootfs, as the
// runtime's own set-up does (common/in-root.ts): a symlink in the image, or
// one swapped in while the container lives (a shared volume, the container
// itself), never leads out of it, and the mount targets /proc/self/fd/N of
// exactly what was found.

export const ETC_FILES = ['resolv.conf', 'hosts'] as const;

/** What was made in a rootfs to mount over: paths in the rootfs, parents first. */
export interface MadeTargets {
  /** the rootfs (a host path, named by the bundle) */
  rootfs: string;
  paths: string[];
}

/** The spec mounts that put `dir`'s files over the image's (for a runtime that makes the config's mounts). */
export function etcMounts(dir: string): { destination: string; type: string; source: string; options: string[] }[] {
  return ETC_FILES.map((f) => ({ destination: `/etc/${f}`, type: 'bind', source: join(dir, f), options: ['bind', 'nosuid', 'nodev', 'noexec'] }));
}

/** A MadeTargets read back from a record or note (anything else: nothing to remove). */
export function madeTargetsOf(v: unknown): MadeTargets | undefined {
  const m = v as Partial<MadeTargets> | null;
  if (typeof m?.rootfs !== 'string' || !Array.isArray(m.paths)) return undefined;
  return { rootfs: m.rootfs, paths: m.paths.map(String) };
}

/**
 * Makes sure /etc/resolv.conf and /etc/hosts exist in `rootfs` (symlinks
 * resolved inside it, as the mounts will be). Returns what it made, for
 * removeCreated; on failure removes it again.
 */
export function prepareTargets(sys: Syscalls, rootfs: string): MadeTargets {
  const made: MadeTargets = { rootfs, paths: [] };
  try {
    withFd(sys, openRootfs(sys, rootfs), (root) => {
      for (const f of ETC_FILES) sys.close(ensureFileInRoot(sys, root, `etc/${f}`, 0o644, made.paths));
    });
  } catch (err) {
    removeCreated(sys, made, () => {});
    throw err;
  }
  return made;
}

/**
 * Removes what prepareTargets made, found again through an fd of the rootfs,
 * while it is still empty (anything written since, or put there instead, is
 * left alone).
 */
export function removeCreated(sys: Syscalls, made: MadeTargets | undefined, warn: (m: string) => void): void {
  if (!made?.paths.length) return;
  let root: number;
  try {
    root = openRootfs(sys, made.rootfs);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') warn(`remove what was made in ${made.rootfs}: ${errorMessage(err)}`);
    return;
  }
  withFd(sys, root, () => {
    for (const p of [...made.paths].reverse()) {
      try {
        removeMadeInRoot(sys, root, p);
      } catch (err) {
        const errno = errnoOf(err);
        if (errno !== 'ENOENT' && errno !== 'ENOTEMPTY' && errno !== 'ENOTDIR') warn(`remove ${p} in ${made.rootfs}: ${errorMessage(err)}`);
      }
    }
  });
}

/**
 * For a runtime that has made its mounts already (runc, crun: createRuntime
 * runs before pivot_root): enters the container's mount namespace on this
 * thread (after unshare(CLONE_FS), which setns into a mount namespace needs),
 * prepares the targets, bind-mounts `dir`'s files over them, and comes back.
 * Returns what was made in the rootfs.
 */
export function mountIntoContainer(sys: Syscalls, pid: number, rootfs: string, dir: string): MadeTargets {
  const home = sys.open('/proc/thread-self/ns/mnt', O.RDONLY | O.CLOEXEC);
  const theirs = sys.open(`/proc/${pid}/ns/mnt`, O.RDONLY | O.CLOEXEC);
  let made: MadeTargets | undefined;
  try {
    sys.unshare(CLONE.FS);
    sys.setns(theirs, CLONE.NEWNS);
    try {
      made = prepareTargets(sys, rootfs);
      withFd(sys, openRootfs(sys, rootfs), (root) => {
        for (const f of ETC_FILES) {
          withFd(sys, openInRoot(sys, root, `etc/${f}`), (fd) => sys.mount(join(dir, f), procFd(fd), 'bind', MS.BIND, null));
        }
      });
    } catch (err) {
      removeCreated(sys, made, () => {});
      throw new TsrunError('SYSCALL', `hook cni: mount resolv.conf and hosts into container ${pid}'s ${rootfs}/etc: ${errorMessage(err)}`, { cause: err });
    } finally {
      sys.setns(home, CLONE.NEWNS);
    }
  } finally {
    sys.close(theirs);
    sys.close(home);
  }
  return made;
}
