import {
  chmodSync, chownSync, closeSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, utimesSync, writeSync, constants as fsc,
} from 'node:fs';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { makedev } from '../runtime/rootfs/devices.js';
import { S } from '../sys/constants.js';
import type { Syscalls } from '../sys/syscalls.js';
import { escapeError, imageError } from './errors.js';
import { cleanEntryPath, resolveInRoot } from './paths.js';
import { applyWhiteout, isWhiteout } from './whiteouts.js';

// Writes one tar entry into the rootfs: directories, regular files, symlinks,
// hard links, device nodes and FIFOs, with owner, mode (setuid/setgid/sticky
// included) and mtime. tar's own Unpack is not used: it refuses to walk through
// any symlink, cannot make device nodes, and knows nothing of whiteouts.

export interface UnpackContext {
  root: string;
  /** mknod for device nodes and FIFOs (Node's fs has no mknod) */
  sys: Pick<Syscalls, 'mknod'>;
  /** keep the tar's uid/gid (only root may) */
  chown: boolean;
  /** host paths written by the current layer (whiteouts spare them) */
  thisLayer: Set<string>;
  /** directory mtimes, set once everything is written (writing into a dir changes it) */
  dirTimes: Map<string, Date>;
}

/** Applies `e`; file data is written as it streams, `done` is called when the entry is complete. */
export function applyEntry(ctx: UnpackContext, e: ReadEntry, done: (err?: unknown) => void): void {
  const parts = cleanEntryPath(e.path);
  if (parts.length === 0) {
    // "./": the rootfs directory itself
    if (e.type === 'Directory') setMeta(ctx, ctx.root, e, 'dir');
    return drain(e, done);
  }
  const base = parts[parts.length - 1]!;
  const parent = resolveInRoot(ctx.root, parts.slice(0, -1), e.path);
  if (isWhiteout(base)) {
    applyWhiteout(parent, base, e.path, ctx.thisLayer);
    return drain(e, done);
  }
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  const target = join(parent, base);
  ctx.thisLayer.add(target);
  const mode = (e.mode ?? 0o644) & 0o7777;
  switch (e.type) {
    case 'Directory':
      if (!isDir(target)) {
        remove(target);
        mkdirSync(target, { mode: 0o700 });
      }
      setMeta(ctx, target, e, 'dir');
      return drain(e, done);
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      remove(target);
      return writeFile(ctx, target, e, done);
    case 'SymbolicLink':
      remove(target);
      symlinkSync(e.linkpath ?? '', target);
      setMeta(ctx, target, e, 'link');
      return drain(e, done);
    case 'Link': {
      const source = hardLinkSource(ctx.root, e);
      if (source !== target) {
        remove(target);
        linkSync(source, target);
      }
      return drain(e, done);
    }
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO': {
      remove(target);
      const kind = e.type === 'FIFO' ? S.IFIFO : e.type === 'BlockDevice' ? S.IFBLK : S.IFCHR;
      const dev = e.type === 'FIFO' ? 0n : makedev(e.header.devmaj ?? 0, e.header.devmin ?? 0);
      ctx.sys.mknod(target, kind | mode, dev);
      setMeta(ctx, target, e, 'node');
      return drain(e, done);
    }
    default:
      throw imageError(`entry "${e.path}": unsupported tar entry type ${e.type}`);
  }
}

/** A hard link's target is a path in the same archive; it must exist inside the rootfs. */
function hardLinkSource(root: string, e: ReadEntry): string {
  const linkpath = e.linkpath ?? '';
  if (linkpath.startsWith('/')) throw escapeError(e.path, `hard link to absolute path "${linkpath}" outside the rootfs`);
  let parts: string[];
  try {
    parts = cleanEntryPath(linkpath);
  } catch {
    throw escapeError(e.path, `hard link target "${linkpath}" escapes the rootfs`);
  }
  if (parts.length === 0) throw escapeError(e.path, `hard link to the rootfs itself`);
  const source = join(resolveInRoot(root, parts.slice(0, -1), e.path), parts[parts.length - 1]!);
  let st;
  try {
    st = lstatSync(source);
  } catch {
    throw imageError(`entry "${e.path}": hard link target "${linkpath}" is not in the rootfs (it must come earlier in the layers)`);
  }
  if (st.isDirectory()) throw imageError(`entry "${e.path}": hard link to directory "${linkpath}"`);
  return source;
}

function writeFile(ctx: UnpackContext, target: string, e: ReadEntry, done: (err?: unknown) => void): void {
  // O_EXCL|O_NOFOLLOW: never write through something that appeared at the path.
  const fd = openSync(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  let failed: unknown;
  e.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      writeSync(fd, chunk);
    } catch (err) {
      failed = err;
    }
  });
  e.on('end', () => {
    try {
      if (!failed) {
        if (ctx.chown) fchownSync(fd, e.uid ?? 0, e.gid ?? 0);
        fchmodSync(fd, (e.mode ?? 0o644) & 0o7777); // after chown, which clears setuid/setgid
        if (e.mtime) futimesSync(fd, e.atime ?? e.mtime, e.mtime);
      }
    } catch (err) {
      failed = err;
    } finally {
      closeSync(fd);
    }
    done(failed);
  });
}

function setMeta(ctx: UnpackContext, path: string, e: ReadEntry, kind: 'dir' | 'link' | 'node'): void {
  if (kind === 'link') {
    if (ctx.chown) lchownSync(path, e.uid ?? 0, e.gid ?? 0);
    if (e.mtime) lutimesSync(path, e.atime ?? e.mtime, e.mtime);
    return;
  }
  if (ctx.chown) chownSync(path, e.uid ?? 0, e.gid ?? 0);
  chmodSync(path, (e.mode ?? (kind === 'dir' ? 0o755 : 0o644)) & 0o7777);
  if (!e.mtime) return;
  if (kind === 'dir') ctx.dirTimes.set(path, e.mtime);
  else utimesSync(path, e.atime ?? e.mtime, e.mtime);
}

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whatever a lower layer (or an earlier entry) put at `path` is replaced, never followed. */
function remove(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

function drain(e: ReadEntry, done: (err?: unknown) => void): void {
  e.on('end', () => done());
  e.resume();
}
