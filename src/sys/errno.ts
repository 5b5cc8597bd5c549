import { constants } from 'node:os';

// errno number → name (EPERM, ENOENT, …), from Node's own table.
const names = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!names.has(num)) names.set(num, name);

export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

export function errnoNumber(name: string): number | undefined {
  return (constants.errno as Record<string, number>)[name];
}

const descriptions: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
  EBUSY: 'device or resource busy',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  ESRCH: 'no such process',
  ENOEXEC: 'exec format error',
  EMFILE: 'too many open files',
  ENOMEM: 'cannot allocate memory',
  ENOSYS: 'function not implemented',
  ENODEV: 'no such device',
  EXDEV: 'invalid cross-device link',
  ENOTEMPTY: 'directory not empty',
  ENXIO: 'no such device or address',
  EAGAIN: 'resource temporarily unavailable',
};

/** strerror-like text, lower case as Go prints it (podman matches on it). */
export function errnoText(name: string): string {
  return descriptions[name] ?? name.toLowerCase();
}
