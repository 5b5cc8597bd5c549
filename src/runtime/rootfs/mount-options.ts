import { MOUNT_ATTR, MS } from '../../sys/constants.js';

// Turns the spec's mount options into mount(2) flags, propagation flags and
// the filesystem-specific data string, as runc reads them.

const SET: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS,
  remount: MS.REMOUNT, mand: MS.MANDLOCK, dirsync: MS.DIRSYNC, noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME, bind: MS.BIND, rbind: MS.BIND | MS.REC, relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME, nosymfollow: MS.NOSYMFOLLOW, lazytime: MS.LAZYTIME, silent: MS.SILENT,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK, atime: MS.NOATIME, diratime: MS.NODIRATIME, norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME, symfollow: MS.NOSYMFOLLOW, nolazytime: MS.LAZYTIME, loud: MS.SILENT,
};
/** runc's recursive options (Linux 5.12's mount_setattr): [set, clear] on the whole subtree. */
const RECURSIVE: Record<string, [number, number]> = {
  rro: [MOUNT_ATTR.RDONLY, 0], rrw: [0, MOUNT_ATTR.RDONLY], rnosuid: [MOUNT_ATTR.NOSUID, 0], rsuid: [0, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0], rdev: [0, MOUNT_ATTR.NODEV], rnoexec: [MOUNT_ATTR.NOEXEC, 0], rexec: [0, MOUNT_ATTR.NOEXEC],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0], rsymfollow: [0, MOUNT_ATTR.NOSYMFOLLOW],
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string;
  isBind: boolean;
  /** runc/crun's `tmpcopyup`: fill a new tmpfs with what the directory under it held */
  copyUp: boolean;
  /** MOUNT_ATTR_* to set and clear on the whole subtree (rro, rnosuid, …; `rbind,ro` counts as rro) */
  recursiveSet: number;
  recursiveClear: number;
}

/** Options the runtime acts on itself; never passed to mount(2). */
const EXTENSIONS = new Set(['tmpcopyup', 'notmpcopyup']);

export function parseMountOptions(options: string[] | undefined): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let recursiveSet = 0;
  let recursiveClear = 0;
  for (const opt of options ?? []) {
    if (EXTENSIONS.has(opt)) continue;
    if (opt in RECURSIVE) {
      const [set, clear] = RECURSIVE[opt]!;
      recursiveSet = (recursiveSet | set) & ~clear;
      recursiveClear = (recursiveClear | clear) & ~set;
    } else if (opt in SET) flags |= SET[opt]!;
    else if (opt in CLEAR) flags &= ~CLEAR[opt]!;
    else if (opt in PROPAGATION) propagation.push(PROPAGATION[opt]!);
    else data.push(opt);
  }
  // A read-only rbind is read-only all the way down, not just at its top (as crun does).
  if ((flags & (MS.BIND | MS.REC | MS.RDONLY)) === (MS.BIND | MS.REC | MS.RDONLY)) recursiveSet |= MOUNT_ATTR.RDONLY;
  const copyUp = options?.includes('tmpcopyup') ?? false;
  return { flags, propagation, data: data.join(','), isBind: (flags & MS.BIND) !== 0, copyUp, recursiveSet, recursiveClear };
}

/**
 * The flags a bind remount must keep: in a user namespace the kernel locks
 * nosuid/nodev/noexec/atime flags of the source mount, and a remount that
 * drops them fails with EPERM. statfs reports them as ST_* (same bits, except
 * ST_RELATIME).
 */
export function keptFlags(statfsFlags: number): number {
  const ST_RELATIME = 4096;
  const same = statfsFlags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME);
  return same | (statfsFlags & ST_RELATIME ? MS.RELATIME : 0);
}

export function propagationFlag(name: string): number | undefined {
  return PROPAGATION[name];
}

