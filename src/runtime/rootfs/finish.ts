import { existsSync } from 'node:fs';
import { writeProcFile } from '../proc-write.js';
import type { Spec } from '../../spec/types.js';
import { errnoOf, type Syscalls } from '../../sys/syscalls.js';
import { MS, S } from '../../sys/constants.js';
import { keptFlags, propagationFlag } from './mount-options.js';
import { moveRoot, pivotRoot } from './pivot.js';
import { fileType, openInRoot, openRootfs, procFd, withFd } from '../../common/in-root.js';
import { makedev } from './devices.js';
import { TsrunError, wrap } from '../../errors.js';
import { because } from '../../explain/events.js';

// The last steps of the rootfs: after pivot_root with "/" the container's root
// (the Node init), or before it with the rootfs given (the CLI's main thread,
// which is not in the container's /proc). Paths are found through an fd of the
// root like the mounts before (common/in-root.ts), and mounted on as /proc/self/fd/N.

/** An fd of what `path` names in the container, or undefined when it does not exist. */
function find(sys: Syscalls, root: number, path: string, noFollow = false): number | undefined {
  try {
    return openInRoot(sys, root, path, { noFollow });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function needProc(what: string): void {
  if (!existsSync('/proc/self/fd')) throw new TsrunError('INIT', `${what}: /proc is not mounted in the container`);
}

/** The container's /dev/null, checked to be the null device (an image may put anything there). */
function openNull(sys: Syscalls, root: number): number {
  const fd = find(sys, root, '/dev/null', true);
  const st = fd === undefined ? undefined : sys.fstat(fd);
  if (fd === undefined || st === undefined || (st.mode & S.IFMT) !== S.IFCHR || st.rdev !== makedev(1, 3)) {
    if (fd !== undefined) sys.close(fd);
    throw new TsrunError('INIT', 'linux.maskedPaths: the container\'s /dev/null is not the null device (1:3)');
  }
  return fd;
}

/**
 * A masked directory gets an empty read-only tmpfs, anything else the null
 * device bound over it. A masked path that is a symlink is refused, never
 * followed: what it points at is not what the config named.
 */
export function maskPaths(sys: Syscalls, paths: string[] | undefined, rootfs = '/'): void {
  if (!paths?.length) return;
  needProc('linux.maskedPaths');
  const root = because('linux.maskedPaths: found through an fd of the container\'s root, never by name', () => openRootfs(sys, rootfs));
  because('linux.maskedPaths', () => withFd(sys, root, () => {
    let nullFd: number | undefined;
    try {
      for (const [i, p] of paths.entries()) {
        const why = `linux.maskedPaths[${i}]: ${p}`;
        const fd = because(why, () => find(sys, root, p, true));
        if (fd === undefined) continue;
        because(why, () => withFd(sys, fd, () => {
          try {
            const type = fileType(sys, fd);
            if (type === S.IFLNK) throw new TsrunError('SPEC_INVALID', 'is a symlink in the container: not followed', { jsonPath: `linux.maskedPaths[${i}]` });
            if (type === S.IFDIR) {
              because(`linux.maskedPaths[${i}]: ${p} is a directory: an empty read-only tmpfs over it`, () => sys.mount('tmpfs', procFd(fd), 'tmpfs', MS.RDONLY, null));
            } else {
              nullFd ??= because('linux.maskedPaths: the container\'s /dev/null, checked to be the null device', () => openNull(sys, root));
              const dev = nullFd;
              because(`linux.maskedPaths[${i}]: ${p} is a file: /dev/null bound over it`, () => sys.mount(procFd(dev), procFd(fd), null, MS.BIND, null));
            }
          } catch (err) {
            throw wrap(err, `linux.maskedPaths: ${p}`);
          }
        }));
      }
    } finally {
      const dev = nullFd;
      if (dev !== undefined) sys.close(dev);
    }
  }));
}

export function readonlyPaths(sys: Syscalls, paths: string[] | undefined, rootfs = '/'): void {
  if (!paths?.length) return;
  needProc('linux.readonlyPaths');
  const root = because('linux.readonlyPaths: found through an fd of the container\'s root, never by name', () => openRootfs(sys, rootfs));
  because('linux.readonlyPaths', () => withFd(sys, root, () => {
    for (const [i, p] of paths.entries()) {
      const fd = because(`linux.readonlyPaths[${i}]: ${p}`, () => find(sys, root, p));
      if (fd === undefined) continue;
      try {
        because(`linux.readonlyPaths[${i}]: ${p}`, () => {
          withFd(sys, fd, () => sys.mount(procFd(fd), procFd(fd), null, MS.BIND | MS.REC, null));
          // The bind is a new mount: find it again. Remounting a bind mount resets unlisted flags: keep the mount's own, add the safe ones.
          withFd(sys, openInRoot(sys, root, p), (top) =>
            sys.mount(procFd(top), procFd(top), null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC | MS.NOSUID | MS.NODEV | MS.NOEXEC | keptFlags(sys.statfsFlags(procFd(top))), null),
          );
        });
      } catch (err) {
        throw wrap(err, `linux.readonlyPaths: ${p}`);
      }
    }
  }));
}

export function writeSysctls(sys: Syscalls, sysctl: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    try {
      because(`linux.sysctl["${key}"]`, () => writeProcFile(sys, `/proc/sys/${key.replace(/\./g, '/')}`, value));
    } catch (err) {
      throw wrap(err, `linux.sysctl: ${key}`);
    }
  }
}

export function remountRootReadonly(sys: Syscalls): void {
  sys.mount(null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY | keptFlags(sys.statfsFlags('/')), null);
}

/**
 * root.path becomes "/": pivot_root (detaching the old root), or MS_MOVE +
 * chroot with --no-pivot, or a bare chroot without a mount namespace of its own.
 */
export function enterRoot(sys: Syscalls, rootfs: string, o: { hasMountNs: boolean; noPivot: boolean; propagation?: string }): void {
  because(`root.path: make ${rootfs} the root${!o.hasMountNs ? ' (no mount namespace: chroot)' : o.noPivot ? ' (--no-pivot: move + chroot)' : ' and detach the old one'}`, () => {
    if (!o.hasMountNs) {
      sys.chroot(rootfs);
      sys.chdir('/');
    } else if (o.noPivot) moveRoot(sys, rootfs);
    else pivotRoot(sys, rootfs);
  });
  // The rootfs was bound from a private parent (pivot_root needs it): the
  // config's propagation is given to the new root itself, as crun and youki do,
  // so "/" in the container is shared or unbindable when the config says so.
  const flag = o.propagation ? propagationFlag(o.propagation) : undefined;
  if (o.hasMountNs && flag !== undefined && flag & (MS.SHARED | MS.UNBINDABLE)) {
    because(`linux.rootfsPropagation: ${o.propagation} on the container's root`, () => sys.mount(null, '/', null, flag, null));
  }
}

/** hostname and domainname, which need a uts namespace of the container's own. */
export function setNamesInUts(sys: Syscalls, spec: Spec, hasUtsNs: boolean): void {
  if (hasUtsNs) because('hostname / domainname', () => setNames(sys, spec));
  else if (spec.hostname) throw new TsrunError('SPEC_INVALID', 'hostname is set but the config has no uts namespace', { jsonPath: 'hostname' });
}

export function setNames(sys: Syscalls, spec: Spec): void {
  if (spec.hostname !== undefined && spec.hostname !== '') sys.sethostname(spec.hostname);
  if (spec.domainname !== undefined && spec.domainname !== '') sys.setdomainname(spec.domainname);
}
