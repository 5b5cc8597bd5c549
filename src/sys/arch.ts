import { TsrunError } from '../errors.js';

// What differs between the architectures tsrun runs on: the numbers of the
// calls made through syscall(2), the open(2) flags that are not generic, and
// the layout of struct stat. Numbers are the kernel's own tables:
// arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h
// (which arm64 uses); calls numbered 424 and up (Linux 5.1 on) are the same everywhere.

export interface ArchTable {
  /** process.arch's name for it */
  name: 'x64' | 'arm64';
  /** the calls tsrun makes through syscall(2) (glibc wraps the others) */
  sys: { pivot_root: number; seccomp: number; open_tree: number; move_mount: number; openat2: number; mount_setattr: number };
  /** open(2) flags whose values are the architecture's own (arm64 takes arm's) */
  openFlags: { DIRECTORY: number; NOFOLLOW: number };
  /** struct stat: its size and the byte offsets of the fields tsrun reads */
  stat: { bytes: number; st_mode: number; st_uid: number; st_gid: number; st_rdev: number; st_size: number };
}

const SINCE_5_1 = { open_tree: 428, move_mount: 429, openat2: 437, mount_setattr: 442 };

export const X86_64: ArchTable = {
  name: 'x64',
  sys: { pivot_root: 155, seccomp: 317, ...SINCE_5_1 },
  openFlags: { DIRECTORY: 0o200000, NOFOLLOW: 0o400000 },
  // st_dev, st_ino, st_nlink (8 bytes each), st_mode, st_uid, st_gid, pad (4 each), st_rdev, st_size (8 each)…
  stat: { bytes: 144, st_mode: 24, st_uid: 28, st_gid: 32, st_rdev: 40, st_size: 48 },
};

export const AARCH64: ArchTable = {
  name: 'arm64',
  sys: { pivot_root: 41, seccomp: 277, ...SINCE_5_1 },
  openFlags: { DIRECTORY: 0o40000, NOFOLLOW: 0o100000 },
  // asm-generic: st_dev, st_ino (8 bytes each), st_mode, st_nlink, st_uid, st_gid (4 each), st_rdev, pad, st_size (8 each)…
  stat: { bytes: 128, st_mode: 16, st_uid: 24, st_gid: 28, st_rdev: 32, st_size: 48 },
};

/** The table for `arch` (default: this process's); any other architecture is an error. */
export function archTable(arch: string = process.arch): ArchTable {
  if (arch === 'x64') return X86_64;
  if (arch === 'arm64') return AARCH64;
  throw new TsrunError('NOT_SUPPORTED', `unsupported architecture "${arch}": tsrun knows the syscall numbers and struct layouts of x86_64 and aarch64 only`);
}
