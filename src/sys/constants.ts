import { archTable } from './arch.js';

// Linux constants used by tsrun. Names follow the C headers so they can be
// looked up in man pages. What differs by architecture comes from arch.ts;
// loading this module on any other architecture fails with a clear error.

const ARCH = archTable();

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  NEWTIME: 0x00000080,
  FS: 0x00000200,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MNT_DETACH = 2;

export const PR = {
  SET_PDEATHSIG: 1,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

/** flock(2) operations */
export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  DIRECTORY: ARCH.openFlags.DIRECTORY,
  NOFOLLOW: ARCH.openFlags.NOFOLLOW,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

export const S = { IFMT: 0o170000, IFDIR: 0o040000, IFREG: 0o100000, IFLNK: 0o120000, IFCHR: 0o020000, IFBLK: 0o060000, IFIFO: 0o010000 } as const;

export const AT_FDCWD = -100;
export const AT = { SYMLINK_NOFOLLOW: 0x100, REMOVEDIR: 0x200, EMPTY_PATH: 0x1000, RECURSIVE: 0x8000 } as const;

/** openat2(2)'s how.resolve */
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;

/** mount_setattr(2)'s attr_set / attr_clr */
export const MOUNT_ATTR = { RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, NOATIME: 0x10, STRICTATIME: 0x20, NODIRATIME: 0x80, NOSYMFOLLOW: 0x200000 } as const;

export const OPEN_TREE_CLONE = 1;
export const MOVE_MOUNT = { F_EMPTY_PATH: 0x4, T_EMPTY_PATH: 0x40 } as const;

export const CLOSE_RANGE_CLOEXEC = 1 << 2;

export const RLIMIT: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export const RLIM_INFINITY = 0xffffffffffffffffn;

/** Numbers of the calls made through syscall(2), for this architecture. */
export const SYS = ARCH.sys;

/** Byte offsets in this architecture's struct stat. */
export const STAT_LAYOUT = ARCH.stat;

export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
