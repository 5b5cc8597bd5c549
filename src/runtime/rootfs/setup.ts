import type { Spec } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { AT, MS, MOUNT_ATTR } from '../../sys/constants.js';
import { findNamespace } from '../namespaces.js';
import { isDev, mountOne } from './mounts.js';
import { createDevices, createDevSymlinks } from './devices.js';
import { openInRoot, openRootfs, withFd } from '../../common/in-root.js';
import { parseMountOptions, propagationFlag } from './mount-options.js';
import { because } from '../../explain/events.js';
import { mountTable } from './pivot.js';

// The rootfs before pivot_root, in runc's order: propagation, the rootfs bound
// on itself, the config's mounts, devices, /dev's symlinks. Everything inside
// the rootfs is reached through one fd of it, opened once the rootfs is a
// mount point (common/in-root.ts says why). Synchronous only: it runs in a mount
// namespace that libuv's threadpool does not share.

export interface RootfsConfig {
  spec: Spec;
  /** the rootfs on the host (absolute) */
  rootfs: string;
  /** the bundle, for relative bind sources */
  bundle: string;
  /**
   * The container's process, when the caller is not it (the CLI's main
   * thread): its cgroups are bound, and proc mounts name its pid namespace.
   */
  cgroupPid?: number;
  /** bind sources the runtime cloned on the host (open_tree), by mount index: a mapped root may not reach the path itself */
  bindSourceFds?: Record<number, number>;
}

export function setupRootfs(sys: Syscalls, cfg: RootfsConfig): void {
  const spec = cfg.spec;
  const prop = spec.linux?.rootfsPropagation;
  // The config's propagation as given ("shared" is not "rshared"), else rslave.
  // Unbindable waits for the new root (enterRoot): the rootfs bind below would fail on it.
  const given = prop ? propagationFlag(prop) : undefined;
  const rootFlag = given !== undefined && !(given & MS.UNBINDABLE) ? given : MS.SLAVE | MS.REC;
  because(prop ? `linux.rootfsPropagation: ${prop}${rootFlag !== given ? ' (rslave until the new root exists)' : ''}` : 'nothing mounted in the container may propagate back to the host', () =>
    sys.mount(null, '/', null, rootFlag, null),
  );
  because('root.path: its parent mount made private, so the rootfs bound next is private too (as runc)', () => rootfsParentPrivate(sys, cfg.rootfs));
  because('root.path: pivot_root needs the rootfs to be a mount point', () => sys.mount(cfg.rootfs, cfg.rootfs, 'bind', MS.BIND | MS.REC, null));
  const root = because('root.path: every path in the rootfs is found through this fd, never by name', () => openRootfs(sys, cfg.rootfs));
  try {
    const mounts = spec.mounts ?? [];
    const inUserNs = findNamespace(spec.linux?.namespaces, 'user') !== undefined;
    const ownCgroupNs = findNamespace(spec.linux?.namespaces, 'cgroup') !== undefined;
    const pid = cfg.cgroupPid;
    const pidNs = pid !== undefined && findNamespace(spec.linux?.namespaces, 'pid') !== undefined;
    mounts.forEach((m, i) => {
      // procfs shows the mounting task's pid namespace, and the main thread's is the host's: name the container's.
      const mount = pidNs && m.type === 'proc' ? { ...m, options: [...(m.options ?? []), `pidns=/proc/${pid}/ns/pid`] } : m;
      const why = `mounts[${i}] {destination: ${m.destination}, type: ${m.type ?? 'bind'}}${mount !== m ? ' (pidns=: the container\'s pid namespace, not the mounting thread\'s)' : ''}`;
      because(why, () => mountOne(sys, cfg.rootfs, cfg.bundle, mount, i, inUserNs, ownCgroupNs, root, pid ?? 'self', cfg.bindSourceFds?.[i]));
    });
    because(inUserNs ? 'default devices and linux.devices: bound from the host (mknod is not allowed in a user namespace)' : 'default devices and linux.devices: made with mknod inside the container, never bound from the host', () =>
      createDevices(sys, cfg.rootfs, spec.linux?.devices, inUserNs, root),
    );
    because('/dev/fd, /dev/std*, /dev/ptmx: the links every container has', () =>
      createDevSymlinks(sys, cfg.rootfs, mounts.some((m) => m.type === 'devpts'), root),
    );
    const devIndex = mounts.findIndex((m) => isDev(m.destination) && !parseMountOptions(m.options).isBind);
    if (devIndex >= 0 && parseMountOptions(mounts[devIndex]!.options).flags & MS.RDONLY) {
      because(`mounts[${devIndex}]: a read-only /dev, made so once its devices are in it`, () =>
        withFd(sys, openInRoot(sys, root, '/dev'), (fd) => sys.mountSetattr(fd, '', AT.EMPTY_PATH, MOUNT_ATTR.RDONLY, 0)),
      );
    }
  } finally {
    because('root.path: done with the rootfs fd', () => sys.close(root));
  }
}

/**
 * The mount holding the rootfs, made private when it is shared: a bind of a
 * shared mount joins its peer group, and the container's mounts would then
 * propagate wherever its peers are (rootfsPropagation shared/rshared).
 */
function rootfsParentPrivate(sys: Syscalls, rootfs: string): void {
  const parent = mountTable()
    .filter((m) => rootfs === m.mountPoint || rootfs.startsWith(m.mountPoint === '/' ? '/' : `${m.mountPoint}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
  if (parent?.shared) sys.mount(null, parent.mountPoint, null, MS.PRIVATE, null);
}
