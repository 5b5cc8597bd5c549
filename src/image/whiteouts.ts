import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { escapeError } from './errors.js';

// OCI layer whiteouts (image-spec layer.md, same as AUFS):
// - "dir/.wh.name" deletes "dir/name" that came from a lower layer;
// - "dir/.wh..wh..opq" makes "dir" opaque: everything a lower layer put in it
//   goes, what this layer puts there stays (in whatever order the tar lists it).
// The markers themselves are never written to the rootfs.

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export function isWhiteout(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/**
 * Applies the whiteout `base` found in directory `dir` (a host path already
 * resolved inside the rootfs). `fromThisLayer` holds the host paths this
 * layer has written so far; they survive.
 */
export function applyWhiteout(dir: string, base: string, entry: string, fromThisLayer: ReadonlySet<string>): void {
  if (base === OPAQUE_MARKER) {
    pruneLower(dir, fromThisLayer);
    return;
  }
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw escapeError(entry, `bad whiteout name "${base}"`);
  }
  const victim = join(dir, name);
  if (!fromThisLayer.has(victim)) rmSync(victim, { recursive: true, force: true });
}

/** Removes what lower layers left in `dir`, keeping (and descending into) this layer's entries. */
function pruneLower(dir: string, fromThisLayer: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // not there yet, or not a directory: nothing from below to hide
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!fromThisLayer.has(path)) rmSync(path, { recursive: true, force: true });
    else if (lstatSync(path).isDirectory()) pruneLower(path, fromThisLayer);
  }
}
