import { MS } from '../sys/constants.js';

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
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

const RECURSIVE_ALIASES = new Set(['rbind', 'rprivate', 'rshared', 'rslave', 'runbindable']);

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string;
  isBind: boolean;
  /** runc/crun's `tmpcopyup`: fill a new tmpfs with what the directory under it held */
  copyUp: boolean;
}

/** Options the runtime acts on itself; never passed to mount(2). */
const EXTENSIONS = new Set(['tmpcopyup', 'notmpcopyup']);

export function parseMountOptions(options: string[] | undefined): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const opt of options ?? []) {
    if (EXTENSIONS.has(opt)) continue;
    if (opt in SET) flags |= SET[opt]!;
    else if (opt in CLEAR) flags &= ~CLEAR[opt]!;
    else if (opt in PROPAGATION) propagation.push(PROPAGATION[opt]!);
    else data.push(opt);
  }
  return { flags, propagation, data: data.join(','), isBind: (flags & MS.BIND) !== 0, copyUp: options?.includes('tmpcopyup') ?? false };
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

/** Flags in words, for --explain and error messages. */
export function describeFlags(flags: number): string {
  const names = Object.entries({ ...SET, ...PROPAGATION })
    .filter(([k, v]) => !RECURSIVE_ALIASES.has(k) && (flags & v) === v)
    .map(([k]) => k);
  if (flags & MS.REC) names.push('rec');
  return names.join(',') || '0';
}
