import { AT, MOUNT_ATTR, MS, O, RESOLVE } from './constants.js';

// Flags in words, the way mount(8) and the man pages spell them, for
// --explain and error messages. The kernel door's own vocabulary: it knows
// nothing of config files.

const MOUNT_WORDS: [string, number][] = [
  ['ro', MS.RDONLY], ['nosuid', MS.NOSUID], ['nodev', MS.NODEV], ['noexec', MS.NOEXEC],
  ['sync', MS.SYNCHRONOUS], ['remount', MS.REMOUNT], ['mand', MS.MANDLOCK], ['dirsync', MS.DIRSYNC],
  ['nosymfollow', MS.NOSYMFOLLOW], ['noatime', MS.NOATIME], ['nodiratime', MS.NODIRATIME], ['bind', MS.BIND],
  ['move', MS.MOVE], ['silent', MS.SILENT], ['unbindable', MS.UNBINDABLE], ['private', MS.PRIVATE],
  ['slave', MS.SLAVE], ['shared', MS.SHARED], ['relatime', MS.RELATIME], ['strictatime', MS.STRICTATIME],
  ['lazytime', MS.LAZYTIME],
];

/** mount(2) flags as words ("bind,rec,ro"); "0" for none. */
export function describeMountFlags(flags: number): string {
  const names = MOUNT_WORDS.filter(([, v]) => (flags & v) === v).map(([k]) => k);
  if (flags & MS.REC) names.push('rec');
  return names.join(',') || '0';
}

const words = (table: Record<string, number>, prefix: string, flags: number): string =>
  Object.entries(table).filter(([, v]) => v !== 0 && (flags & v) === v).map(([k]) => `${prefix}${k}`).join('|') || '0';

/** open(2) flags as O_* words; O_RDONLY is shown when neither O_WRONLY nor O_RDWR is set. */
export function describeOpenFlags(flags: number): string {
  const set = words(O, 'O_', flags);
  return flags & (O.WRONLY | O.RDWR) ? set : set === '0' ? 'O_RDONLY' : `O_RDONLY|${set}`;
}

export const describeResolve = (flags: number): string => words(RESOLVE, 'RESOLVE_', flags);
export const describeAt = (flags: number): string => words(AT, 'AT_', flags);
export const describeMountAttr = (flags: number): string => words(MOUNT_ATTR, 'MOUNT_ATTR_', flags);
