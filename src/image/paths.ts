import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { escapeError } from './errors.js';

// Where a tar entry lands inside the rootfs being built. Entry names are made
// relative ("/etc/x" → "etc/x") and cleaned lexically; a name that climbs
// above the root is refused. The parent directories are then resolved the way
// the kernel would follow them on the host while extracting: a symlink met on
// the way is followed only while it stays inside the rootfs. An absolute link
// target ("evil -> /etc") or one that climbs out ("up -> ../../..") would make
// the next write land on the host, so the entry is refused, naming both.

const MAX_LINKS = 255;

/** "/a/./b//c/../d" → ["a", "b", "d"]; throws when ".." climbs above the root. */
export function cleanEntryPath(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw escapeError(name, 'path escapes the rootfs ("..")');
      out.pop();
    } else out.push(part);
  }
  return out;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false; // missing: it will be created as a directory, inside the root
  }
}

/**
 * The host path of `parts` (already cleaned) under `root`, following symlinks
 * in every component as the kernel would, and refusing any that leads out.
 * `entry` names the tar entry in errors.
 */
export function resolveInRoot(root: string, parts: string[], entry: string): string {
  const stack: string[] = [];
  const queue = [...parts];
  let links = 0;
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      if (stack.length === 0) throw escapeError(entry, 'a symlink in its path climbs above the rootfs');
      stack.pop();
      continue;
    }
    const here = join(root, ...stack, part);
    if (!isSymlink(here)) {
      stack.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw escapeError(entry, 'too many symlinks in its path');
    const target = readlinkSync(here);
    const rel = [...stack, part].join('/');
    if (target.startsWith('/')) {
      throw escapeError(entry, `its path goes through symlink "${rel}" -> "${target}", which points outside the rootfs`);
    }
    queue.unshift(...target.split('/'));
  }
  return join(root, ...stack);
}
