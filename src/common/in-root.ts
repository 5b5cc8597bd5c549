import { posix } from 'node:path';
import type { Syscalls } from '../sys/syscalls.js';
import { SyscallError, errnoOf } from '../sys/syscalls.js';
import { errnoNumber, errnoText } from '../sys/errno.js';
import { AT, O, RESOLVE, S } from '../sys/constants.js';

// Paths inside the rootfs, resolved by the kernel relative to an fd of the
// rootfs, never by name: a symlink or ".." can never lead out of it, even if
// the rootfs changes meanwhile (a volume shared with a running container, an
// image's symlinks swapped between check and use: CVE-2021-30465). What is
// found is held as an O_PATH fd; a mount targets /proc/self/fd/N of that fd,
// so the kernel mounts on exactly what was resolved.
//
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) does the resolving (Linux
// 5.6); where it is missing (ENOSYS) the same walk is made one component at a
// time with O_PATH|O_NOFOLLOW and readlinkat.

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
const O_PATH = O.PATH | O.CLOEXEC;
const MAX_LINKS = 40; // the kernel's own limit
// openat2 answers EAGAIN when a rename or mount anywhere on the host raced a
// ".." in the lookup (it cannot prove the walk stayed inside); retry a few
// times, then take the walk, which has no such check.
const OPENAT2_TRIES = 16;

/** An O_PATH fd of the rootfs (a host path, named by the bundle): what the rest is resolved in. */
export function openRootfs(sys: Syscalls, rootfs: string): number {
  return sys.open(rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
}

/** The magic link of an fd: what mount(2) and statfs(2) are given instead of a path. */
export const procFd = (fd: number): string => `/proc/self/fd/${fd}`;

/**
 * "/a/../b/" → "b": lexically clean, relative, never above the root ("." for
 * the root). By segments rather than path.normalize, for the reason in
 * paths.ts: its per-character loop, run on every mount path, got hot enough
 * for V8's optimizing compiler.
 */
export function inRootPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') out.pop();
    else if (part !== '' && part !== '.') out.push(part);
  }
  return out.join('/') || '.';
}

const fail = (call: string, args: string, errno: string): never => {
  throw new SyscallError(call, args, errnoNumber(errno) ?? 0, errno, errnoText(errno));
};

/** Runs `fn` with an fd, closing it afterwards. */
export function withFd<T>(sys: Syscalls, fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    sys.close(fd);
  }
}

const noOpenat2 = new WeakSet<Syscalls>();

export interface InRootOptions {
  /** do not follow a symlink in the last component: the fd is the link itself */
  noFollow?: boolean;
}

/**
 * An O_PATH fd of `path` inside the root held by `rootFd`: symlinks are
 * followed as if the root were "/", ".." stops at the root, and magic links
 * (/proc/self/fd/N and the like) are refused.
 */
export function openInRoot(sys: Syscalls, rootFd: number, path: string, o: InRootOptions = {}): number {
  const rel = inRootPath(path);
  for (let tries = 0; tries < OPENAT2_TRIES && !noOpenat2.has(sys); tries++) {
    try {
      return sys.openat2(rootFd, rel, O_PATH | (o.noFollow ? O.NOFOLLOW : 0), 0, IN_ROOT);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOSYS') noOpenat2.add(sys);
      else if (errno !== 'EAGAIN') throw err;
    }
  }
  return walkInRoot(sys, rootFd, rel, o);
}

/** openInRoot without openat2: one O_PATH|O_NOFOLLOW openat per component, symlinks read and resolved here. */
function walkInRoot(sys: Syscalls, rootFd: number, rel: string, o: InRootOptions): number {
  const queue = rel.split('/').filter((p) => p && p !== '.');
  const dirs: number[] = []; // fds of the directories walked into, below the root
  const closeAll = (): void => {
    while (dirs.length) sys.close(dirs.pop()!);
  };
  let links = 0;
  try {
    while (queue.length) {
      const part = queue.shift()!;
      if (part === '..') {
        const up = dirs.pop();
        if (up !== undefined) sys.close(up);
        continue;
      }
      const fd = sys.openat(dirs.at(-1) ?? rootFd, part, O_PATH | O.NOFOLLOW);
      const type = sys.fstat(fd).mode & S.IFMT;
      if (type === S.IFLNK && !(o.noFollow && queue.length === 0)) {
        const target = withFd(sys, fd, () => sys.readlinkat(fd, ''));
        if (++links > MAX_LINKS) fail('openat', JSON.stringify(rel), 'ELOOP');
        if (target.startsWith('/')) closeAll();
        queue.unshift(...target.split('/').filter((p) => p && p !== '.'));
        continue;
      }
      if (queue.length && type !== S.IFDIR) {
        sys.close(fd);
        fail('openat', JSON.stringify(rel), 'ENOTDIR');
      }
      dirs.push(fd);
    }
    // The root itself: a fresh fd, so the caller may close what it gets.
    return dirs.pop() ?? sys.openat(rootFd, '.', O_PATH);
  } finally {
    closeAll();
  }
}

/**
 * Where a dangling symlink `name` in the directory `dir` (at `dirRel` in the
 * root) leads, as a path in the root; undefined when `name` is no symlink.
 */
function danglingTarget(sys: Syscalls, dir: number, dirRel: string, name: string, depth: number): string | undefined {
  const fd = sys.openat(dir, name, O_PATH | O.NOFOLLOW);
  const target = withFd(sys, fd, () => (fileType(sys, fd) === S.IFLNK ? sys.readlinkat(fd, '') : undefined));
  if (target === undefined) return undefined;
  if (depth > MAX_LINKS) fail('mkdirat', JSON.stringify(name), 'ELOOP');
  return target.startsWith('/') ? target : posix.join(dirRel, target);
}

/** How findOrMake makes what is missing, and where it notes what it made. */
interface Making {
  make: (parent: number, name: string) => void;
  /** the mode of missing parent directories */
  parentMode: number;
  /** in-root paths of what was made, parents first */
  made?: string[];
}

/**
 * An O_PATH fd of `path` in the root, made by `m.make` on its parent's fd when
 * missing, the parents first. What is made is then found again in the root: a
 * component swapped for a symlink meanwhile still resolves inside the root. A
 * dangling symlink in the way is followed by making its target, inside the
 * root (as runc does).
 */
function findOrMake(sys: Syscalls, rootFd: number, path: string, m: Making, depth: number): number {
  const rel = inRootPath(path);
  try {
    return openInRoot(sys, rootFd, rel);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT' || rel === '.') throw err;
  }
  const parentRel = posix.dirname(rel);
  const name = posix.basename(rel);
  const dirs: Making = { make: (parent, n) => sys.mkdirat(parent, n, m.parentMode), parentMode: m.parentMode, made: m.made };
  const target = withFd(sys, findOrMake(sys, rootFd, parentRel, dirs, depth), (parent) => {
    try {
      m.make(parent, name);
      m.made?.push(posix.join(parentRel, name));
      return undefined;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      return danglingTarget(sys, parent, parentRel, name, depth + 1);
    }
  });
  if (target !== undefined) sys.close(findOrMake(sys, rootFd, target, m, depth + 1));
  return openInRoot(sys, rootFd, rel);
}

/**
 * An O_PATH fd of the directory `path` in the root, made (0755, or `mode`)
 * with every missing parent. What was made is pushed on `made` (in-root
 * paths, parents first), for removeMadeInRoot.
 */
export function mkdirAllInRoot(sys: Syscalls, rootFd: number, path: string, mode = 0o755, made?: string[]): number {
  return findOrMake(sys, rootFd, path, { make: (parent, name) => sys.mkdirat(parent, name, mode), parentMode: mode, made }, 0);
}

/**
 * An O_PATH fd of the file `path` in the root, made empty (with its parents)
 * when missing: created on its parent's fd with O_NOFOLLOW and O_EXCL, never
 * through a symlink. What was made is pushed on `made`, as mkdirAllInRoot.
 */
export function ensureFileInRoot(sys: Syscalls, rootFd: number, path: string, mode = 0o644, made?: string[]): number {
  const make = (parent: number, name: string): void => sys.close(sys.openat(parent, name, O.CREAT | O.EXCL | O.NOFOLLOW | O.RDONLY | O.CLOEXEC, mode));
  return findOrMake(sys, rootFd, path, { make, parentMode: 0o755, made }, 0);
}

/**
 * Removes `path` in the root while it still looks as made: an empty regular
 * file, or an empty directory (ENOTEMPTY otherwise). Its parent is found in
 * the root; the name itself is never followed (a symlink put there is left
 * alone) and unlinkat acts on the parent's fd. False when something else is
 * there now.
 */
export function removeMadeInRoot(sys: Syscalls, rootFd: number, path: string): boolean {
  const rel = inRootPath(path);
  if (rel === '.') return false;
  return withFd(sys, openInRoot(sys, rootFd, posix.dirname(rel)), (dir) => {
    const name = posix.basename(rel);
    const st = withFd(sys, sys.openat(dir, name, O_PATH | O.NOFOLLOW), (fd) => sys.fstat(fd));
    const type = st.mode & S.IFMT;
    if (type === S.IFDIR) sys.unlinkat(dir, name, AT.REMOVEDIR);
    else if (type === S.IFREG && st.size === 0) sys.unlinkat(dir, name, 0);
    else return false;
    return true;
  });
}

/** The directory fd and last component of `path`, the parent made if missing: for mknodat/symlinkat. */
export function parentInRoot(sys: Syscalls, rootFd: number, path: string): { dir: number; name: string } {
  const rel = inRootPath(path);
  return { dir: mkdirAllInRoot(sys, rootFd, posix.dirname(rel)), name: posix.basename(rel) };
}

/** The type bits (S_IF*) of what an fd refers to. */
export const fileType = (sys: Syscalls, fd: number): number => sys.fstat(fd).mode & S.IFMT;

/** fchownat on a name in a directory fd, never following a symlink. */
export const chownIn = (sys: Syscalls, dir: number, name: string, uid: number, gid: number): void =>
  sys.fchownat(dir, name, uid, gid, AT.SYMLINK_NOFOLLOW);
