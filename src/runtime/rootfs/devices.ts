import { chownSync, closeSync, existsSync, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Device } from '../../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { MS, S } from '../sys/constants.js';
import { SyscallError } from '../sys/syscalls.js';
import { secureJoin } from './secure-join.js';
import { wrap } from '../../errors.js';

// Device nodes are created fresh inside the container (mknod), never
// bind-mounted from the host, so nothing a container does can change a host node.

const DEFAULT_DEVICES: Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
] as Device[];

/** makedev(3) for the kernel's 64-bit dev_t encoding. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function typeBits(type: string): number {
  return type === 'b' ? S.IFBLK : type === 'p' ? S.IFIFO : S.IFCHR;
}

/** Default devices first, then the config's (which may override a default's mode or owner). */
export function devicesToCreate(configured: Device[] | undefined): Device[] {
  const byPath = new Map<string, Device>();
  for (const d of [...DEFAULT_DEVICES, ...(configured ?? [])]) byPath.set(d.path, d);
  return [...byPath.values()];
}

/**
 * In a user namespace mknod is not allowed: the host's node is bind-mounted
 * instead (its owner and mode stay the host's; the container cannot chmod it
 * unless its root is mapped to host root).
 */
function bindHostDevice(sys: Syscalls, d: Device, dest: string): void {
  if (!existsSync(dest)) closeSync(openSync(dest, 'a', 0o600));
  sys.mount(d.path, dest, 'bind', MS.BIND, null);
}

export function createDevices(sys: Syscalls, rootfs: string, configured: Device[] | undefined, inUserNs = false): void {
  for (const d of devicesToCreate(configured)) {
    try {
      const dest = secureJoin(rootfs, d.path);
      mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
      if (inUserNs) {
        bindHostDevice(sys, d, dest);
        continue;
      }
      const mode = (d.fileMode ?? 0o666) & 0o7777;
      try {
        sys.mknod(dest, typeBits(d.type) | mode, d.type === 'p' ? 0n : makedev(d.major ?? 0, d.minor ?? 0));
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === 'EEXIST')) throw err;
        continue;
      }
      chownSync(dest, d.uid ?? 0, d.gid ?? 0);
    } catch (err) {
      throw wrap(err, `device ${d.path}`);
    }
  }
}

/** /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx → pts/ptmx, as runc lays them out. */
export function createDevSymlinks(rootfs: string, hasDevpts: boolean): void {
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  if (existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  if (hasDevpts) links.push(['pts/ptmx', '/dev/ptmx']);
  for (const [target, path] of links) {
    const dest = secureJoin(rootfs, path);
    if (!existsSync(dirname(dest))) continue;
    try {
      symlinkSync(target, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw wrap(err, `symlink ${path}`);
    }
  }
}
