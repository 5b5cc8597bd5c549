import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Mount } from '../../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { MS } from '../sys/constants.js';
import { keptFlags, parseMountOptions } from './mount-options.js';
import { secureJoin } from './secure-join.js';
import { withCopyUp } from './copy-up.js';
import { wrap } from '../../errors.js';

// The config's mounts, in order, on the container's rootfs (before pivot_root).

/** Makes the mount point: a directory, or an empty file for a file bind mount. */
function ensureMountPoint(dest: string, asFile: boolean): void {
  if (existsSync(dest)) return;
  if (asFile) {
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    closeSync(openSync(dest, 'a', 0o644));
  } else {
    mkdirSync(dest, { recursive: true, mode: 0o755 });
  }
}

/**
 * `ownCgroupNs`: the init unshared a cgroup namespace, so a fresh cgroup mount
 * is already rooted at the container's cgroup; without one, each hierarchy is
 * bound from the container's own cgroup directory (as runc does), never the host's root.
 */
/** `cgroupPid`: whose cgroups a cgroup mount without a cgroup namespace binds (the container's process, not the runtime). */
export function mountOne(sys: Syscalls, rootfs: string, bundle: string, m: Mount, index: number, inUserNs = false, ownCgroupNs = false, cgroupPid: number | 'self' = 'self'): void {
  try {
    const dest = secureJoin(rootfs, m.destination);
    const opts = parseMountOptions(m.options);
    const type = m.type ?? (opts.isBind ? 'bind' : 'none');
    if (inUserNs && (type === 'sysfs' || type === 'cgroup')) {
      // A user namespace may not mount sysfs (without its own netns) or cgroup v1: bind the host's, read-only.
      const source = type === 'sysfs' ? '/sys' : '/sys/fs/cgroup';
      ensureMountPoint(dest, false);
      sys.mount(source, dest, 'bind', MS.BIND | MS.REC, null);
      sys.mount(source, dest, null, MS.BIND | MS.REMOUNT | MS.REC | MS.RDONLY | (opts.flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC)), null);
    } else if (type === 'bind' || opts.isBind) {
      bindMount(sys, bundle, m, dest, opts.flags, opts.data);
    } else if (type === 'cgroup') {
      mountCgroupTree(sys, dest, opts.flags, ownCgroupNs, cgroupPid);
    } else if (type === 'tmpfs' && opts.copyUp) {
      ensureMountPoint(dest, false);
      withCopyUp(dest, () => sys.mount(m.source ?? type, dest, type, opts.flags, opts.data || null));
    } else {
      ensureMountPoint(dest, false);
      sys.mount(m.source ?? type, dest, type, opts.flags, opts.data || null);
    }
    for (const p of opts.propagation) sys.mount(null, dest, null, p, null);
  } catch (err) {
    throw wrap(err, `mounts[${index}] (${m.destination})`);
  }
}

function bindMount(sys: Syscalls, bundle: string, m: Mount, dest: string, flags: number, data: string): void {
  const source = m.source === undefined ? '' : isAbsolute(m.source) ? m.source : resolve(bundle, m.source);
  const isDir = statSync(source).isDirectory();
  ensureMountPoint(dest, !isDir);
  const bindFlags = MS.BIND | (flags & MS.REC);
  sys.mount(source, dest, 'bind', bindFlags, data || null);
  // Bind mounts ignore other flags on the first call: apply them by remount.
  const rest = flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  if (rest) {
    const locked = keptFlags(sys.statfsFlags(dest)) & ~MS.RDONLY;
    sys.mount(source, dest, null, MS.BIND | MS.REMOUNT | bindFlags | rest | locked, null);
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
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
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
function mountCgroupTree(sys: Syscalls, dest: string, flags: number, ownCgroupNs: boolean, cgroupPid: number | 'self'): void {
  ensureMountPoint(dest, false);
  const hierarchies = hostCgroupHierarchies();
  const v2only = hierarchies.length === 1 && hierarchies[0]!.fstype === 'cgroup2' && hierarchies[0]!.name === '';
  const own = ownCgroupNs ? undefined : ownCgroups(cgroupPid);
  if (v2only || hierarchies.length === 0) {
    const path = own?.get('');
    if (path && path !== '/' && v2only) bindCgroup(sys, `/sys/fs/cgroup${path}`, dest, flags);
    else sys.mount('cgroup2', dest, 'cgroup2', flags, null);
    return;
  }
  const base = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC);
  sys.mount('tmpfs', dest, 'tmpfs', base, 'mode=755');
  for (const h of hierarchies) {
    if (!h.name) continue;
    const sub = `${dest}/${h.name}`;
    ensureMountPoint(sub, false);
    const opts = h.superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro').join(',');
    const path = own && ownPathOf(own, h);
    if (path && path !== '/') bindCgroup(sys, `/sys/fs/cgroup/${h.name}${path}`, sub, flags);
    else sys.mount(h.fstype, sub, h.fstype, flags, h.fstype === 'cgroup' ? opts : null);
  }
  if (flags & MS.RDONLY) sys.mount('tmpfs', dest, null, MS.REMOUNT | MS.RDONLY | base, 'mode=755');
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

function bindCgroup(sys: Syscalls, source: string, dest: string, flags: number): void {
  sys.mount(source, dest, 'bind', MS.BIND, null);
  const rest = flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  if (rest) sys.mount(source, dest, null, MS.BIND | MS.REMOUNT | rest, null);
}
