import { fstatSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import type { Mount } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { AT, MOVE_MOUNT, MS } from '../../sys/constants.js';
import { keptFlags, parseMountOptions } from './mount-options.js';
import { ensureFileInRoot, inRootPath, mkdirAllInRoot, openInRoot, openRootfs, procFd, withFd } from '../../common/in-root.js';

export { openRootfs } from '../../common/in-root.js';
import { withCopyUp } from './copy-up.js';
import { wrap } from '../../errors.js';

// The config's mounts, in order, on the container's rootfs (before pivot_root).
// Every destination is found (or made) inside the rootfs through an fd of it
// (common/in-root.ts) and mounted on as /proc/self/fd/N: a symlink in the image, or
// one swapped in meanwhile, can never turn a mount onto a host path.

/** /dev is mounted writable and made read-only once the devices are in it (as runc does). */
export const isDev = (destination: string): boolean => inRootPath(destination) === 'dev';

/**
 * `ownCgroupNs`: the init unshared a cgroup namespace, so a fresh cgroup mount
 * is already rooted at the container's cgroup; without one, each hierarchy is
 * bound from the container's own cgroup directory (as runc does), never the host's root.
 * `rootFd`: an fd from openRootfs (else one is opened for this call).
 */
/** `cgroupPid`: whose cgroups a cgroup mount without a cgroup namespace binds (the container's process, not the runtime). */
/** `sourceFd`: a bind source the runtime cloned on the host (open_tree), attached instead of binding its path. */
export function mountOne(sys: Syscalls, rootfs: string, bundle: string, m: Mount, index: number, inUserNs = false, ownCgroupNs = false, rootFd?: number, cgroupPid: number | 'self' = 'self', sourceFd?: number): void {
  const root = rootFd ?? openRootfs(sys, rootfs);
  try {
    const dest = m.destination;
    const opts = parseMountOptions(m.options);
    const type = m.type ?? (opts.isBind ? 'bind' : 'none');
    const flags = isDev(dest) && !opts.isBind ? opts.flags & ~MS.RDONLY : opts.flags;
    if (inUserNs && (type === 'sysfs' || type === 'cgroup')) {
      // A user namespace may not mount sysfs (without its own netns) or cgroup v1: bind the host's, read-only.
      const source = type === 'sysfs' ? '/sys' : '/sys/fs/cgroup';
      withFd(sys, mkdirAllInRoot(sys, root, dest), (fd) => sys.mount(source, procFd(fd), 'bind', MS.BIND | MS.REC, null));
      withFd(sys, openInRoot(sys, root, dest), (fd) =>
        sys.mount(source, procFd(fd), null, MS.BIND | MS.REMOUNT | MS.REC | MS.RDONLY | (flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC)), null),
      );
    } else if (type === 'bind' || opts.isBind) {
      bindMount(sys, root, bundle, m, flags, opts.data, sourceFd);
    } else if (type === 'cgroup') {
      mountCgroupTree(sys, root, dest, flags, ownCgroupNs, cgroupPid);
    } else if (type === 'tmpfs' && opts.copyUp) {
      withCopyUp(sys, root, dest, (target) => sys.mount(m.source ?? type, target, type, flags, opts.data || null));
    } else {
      withFd(sys, mkdirAllInRoot(sys, root, dest), (fd) => sys.mount(m.source ?? type, procFd(fd), type, flags, opts.data || null));
    }
    if (opts.recursiveSet || opts.recursiveClear || opts.propagation.length) {
      // The fd found before the mount is the directory under it: find the new mount again.
      withFd(sys, openInRoot(sys, root, dest), (fd) => {
        if (opts.recursiveSet || opts.recursiveClear) sys.mountSetattr(fd, '', AT.EMPTY_PATH | AT.RECURSIVE, opts.recursiveSet, opts.recursiveClear);
        for (const p of opts.propagation) sys.mount(null, procFd(fd), null, p, null);
      });
    }
  } catch (err) {
    throw wrap(err, `mounts[${index}] (${m.destination})`);
  } finally {
    if (rootFd === undefined) sys.close(root);
  }
}

/** The host path a bind mount's source names (relative to the bundle). */
export function bindSource(bundle: string, m: Mount): string {
  return m.source === undefined ? '' : isAbsolute(m.source) ? m.source : resolve(bundle, m.source);
}

function bindMount(sys: Syscalls, root: number, bundle: string, m: Mount, flags: number, data: string, sourceFd?: number): void {
  // The source is the host's, named by the config: a host path, trusted like the bundle.
  const source = sourceFd !== undefined ? procFd(sourceFd) : bindSource(bundle, m);
  const isDir = (sourceFd !== undefined ? fstatSync(sourceFd) : statSync(source)).isDirectory();
  const bindFlags = MS.BIND | (flags & MS.REC);
  const made = isDir ? mkdirAllInRoot(sys, root, m.destination) : ensureFileInRoot(sys, root, m.destination);
  // A source the runtime cloned (open_tree) is attached as it is; a path is bound.
  if (sourceFd !== undefined) withFd(sys, made, (fd) => sys.moveMount(sourceFd, '', fd, '', MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.T_EMPTY_PATH));
  else withFd(sys, made, (fd) => sys.mount(source, procFd(fd), 'bind', bindFlags, data || null));
  // Bind mounts ignore other flags on the first call: apply them by remount.
  const rest = flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  if (rest) {
    withFd(sys, openInRoot(sys, root, m.destination), (fd) => {
      const locked = keptFlags(sys.statfsFlags(procFd(fd))) & ~MS.RDONLY;
      sys.mount(source, procFd(fd), null, MS.BIND | MS.REMOUNT | bindFlags | rest | locked, null);
    });
  }
}

interface HostHierarchy {
  name: string;
  fstype: string;
  superOptions: string;
}

/** v1 hierarchies and the cgroup2 mount of the host, from mountinfo. */
function hostCgroupHierarchies(): HostHierarchy[] {
  const out: HostHierarchy[] = [];
  for (const line of readFileSync('/proc/thread-self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOptions] = post.split(' ');
    const mountPoint = pre.split(' ')[4]!;
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (!mountPoint.startsWith('/sys/fs/cgroup')) continue;
    out.push({ name: mountPoint === '/sys/fs/cgroup' ? '' : basename(mountPoint), fstype, superOptions: superOptions ?? '' });
  }
  return out;
}

/**
 * A cgroup mount. On a pure v2 host it is one cgroup2 mount; on v1/hybrid
 * hosts a tmpfs holds one mount per hierarchy, as the host lays them out.
 */
function mountCgroupTree(sys: Syscalls, root: number, dest: string, flags: number, ownCgroupNs: boolean, cgroupPid: number | 'self'): void {
  const hierarchies = hostCgroupHierarchies();
  const v2only = hierarchies.length === 1 && hierarchies[0]!.fstype === 'cgroup2' && hierarchies[0]!.name === '';
  const own = ownCgroupNs ? undefined : ownCgroups(cgroupPid);
  if (v2only || hierarchies.length === 0) {
    const path = own?.get('');
    if (path && path !== '/' && v2only) bindCgroup(sys, root, `/sys/fs/cgroup${path}`, dest, flags);
    else withFd(sys, mkdirAllInRoot(sys, root, dest), (fd) => sys.mount('cgroup2', procFd(fd), 'cgroup2', flags, null));
    return;
  }
  const base = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC);
  withFd(sys, mkdirAllInRoot(sys, root, dest), (fd) => sys.mount('tmpfs', procFd(fd), 'tmpfs', base, 'mode=755'));
  for (const h of hierarchies) {
    if (!h.name) continue;
    const sub = `${dest}/${h.name}`;
    const opts = h.superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro').join(',');
    const path = own && ownPathOf(own, h);
    if (path && path !== '/') bindCgroup(sys, root, `/sys/fs/cgroup/${h.name}${path}`, sub, flags);
    else withFd(sys, mkdirAllInRoot(sys, root, sub), (fd) => sys.mount(h.fstype, procFd(fd), h.fstype, flags, h.fstype === 'cgroup' ? opts : null));
  }
  if (flags & MS.RDONLY) withFd(sys, openInRoot(sys, root, dest), (fd) => sys.mount('tmpfs', procFd(fd), null, MS.REMOUNT | MS.RDONLY | base, 'mode=755'));
}

/** A process's cgroup per hierarchy, keyed by its controller list ("" for cgroup2). */
function ownCgroups(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Which /proc/self/cgroup entry belongs to a mounted hierarchy: same controllers (or name=), or cgroup2. */
function ownPathOf(own: Map<string, string>, h: HostHierarchy): string | undefined {
  if (h.fstype === 'cgroup2') return own.get('');
  const opts = new Set(h.superOptions.split(','));
  for (const [controllers, path] of own) {
    if (controllers && controllers.split(',').every((c) => opts.has(c))) return path;
  }
  return undefined;
}

function bindCgroup(sys: Syscalls, root: number, source: string, dest: string, flags: number): void {
  withFd(sys, mkdirAllInRoot(sys, root, dest), (fd) => sys.mount(source, procFd(fd), 'bind', MS.BIND, null));
  const rest = flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  if (rest) withFd(sys, openInRoot(sys, root, dest), (fd) => sys.mount(source, procFd(fd), null, MS.BIND | MS.REMOUNT | rest, null));
}
