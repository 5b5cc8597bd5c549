import { existsSync } from 'node:fs';
import type { Device } from '../../spec/types.js';
import { errnoOf, type Syscalls } from '../../sys/syscalls.js';
import { AT, MS, S } from '../../sys/constants.js';
import { ensureFileInRoot, openInRoot, openRootfs, parentInRoot, procFd, withFd } from '../../common/in-root.js';
import { wrap } from '../../errors.js';

// Device nodes are created fresh inside the container (mknod), never
// bind-mounted from the host, so nothing a container does can change a host node.
// Each is made with mknodat on an fd of its directory, found inside the rootfs
// (common/in-root.ts), and chowned there without following a symlink.

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
function bindHostDevice(sys: Syscalls, rootFd: number, d: Device): void {
  withFd(sys, ensureFileInRoot(sys, rootFd, d.path, 0o600), (fd) => sys.mount(d.path, procFd(fd), 'bind', MS.BIND, null));
}

function makeNode(sys: Syscalls, rootFd: number, d: Device): void {
  const { dir, name } = parentInRoot(sys, rootFd, d.path);
  withFd(sys, dir, () => {
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    try {
      sys.mknodat(dir, name, typeBits(d.type) | mode, d.type === 'p' ? 0n : makedev(d.major ?? 0, d.minor ?? 0));
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return;
      throw err;
    }
    sys.fchownat(dir, name, d.uid ?? 0, d.gid ?? 0, AT.SYMLINK_NOFOLLOW);
  });
}

/** `rootFd`: an fd from openRootfs (else one is opened for this call). */
export function createDevices(sys: Syscalls, rootfs: string, configured: Device[] | undefined, inUserNs = false, rootFd?: number): void {
  const root = rootFd ?? openRootfs(sys, rootfs);
  try {
    for (const d of devicesToCreate(configured)) {
      try {
        if (inUserNs) bindHostDevice(sys, root, d);
        else makeNode(sys, root, d);
      } catch (err) {
        throw wrap(err, `device ${d.path}`);
      }
    }
  } finally {
    if (rootFd === undefined) sys.close(root);
  }
}

/** /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx → pts/ptmx, as runc lays them out. */
export function createDevSymlinks(sys: Syscalls, rootfs: string, hasDevpts: boolean, rootFd?: number): void {
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  if (existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  if (hasDevpts) links.push(['pts/ptmx', '/dev/ptmx']);
  const root = rootFd ?? openRootfs(sys, rootfs);
  try {
    let dev: number;
    try {
      dev = openInRoot(sys, root, '/dev');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return; // no /dev in the image and none mounted
      throw err;
    }
    withFd(sys, dev, () => {
      for (const [target, path] of links) {
        try {
          sys.symlinkat(target, dev, path.slice('/dev/'.length));
        } catch (err) {
          if (errnoOf(err) !== 'EEXIST') throw wrap(err, `symlink ${path}`);
        }
      }
    });
  } finally {
    if (rootFd === undefined) sys.close(root);
  }
}
