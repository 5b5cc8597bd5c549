import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tsrun, type Result } from './bundle.js';
import { cgroupsOf, killLeftovers, leakedProcesses, leaks, mountsUnder, stateEntries } from './leak-check.js';

// The assertions every runtime test file makes about a command's outcome.

export function ok(r: Result): void {
  expect(r.code, r.stderr).toBe(0);
}

/** Exited non-zero (not killed), with each of `words` in its error. */
export function fails(r: Result, ...words: string[]): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code).not.toBeNull();
  for (const w of words) expect(r.stderr).toContain(w);
}

/** Nothing of any container under `root` is left: state, processes, mounts under `dirs`, cgroups of `ids`. */
export function expectNothingLeft(root: string, dirs: string[], ids: Iterable<string> = []): void {
  expect(stateEntries(root)).toEqual([]);
  expect(leakedProcesses()).toEqual([]);
  for (const d of dirs) expect(mountsUnder(d)).toEqual([]);
  expect(cgroupsOf(ids)).toEqual([]);
}

/**
 * A test file's last step: force-delete its containers, then check that
 * nothing of them is left (state, processes, mounts under `dirs`), kill any
 * leftover and remove the scratch dir whatever the check said.
 */
export function finishFile(f: { root: string; scratch: { dir: string; remove(): void }; ids: Iterable<string>; dirs: string[] }): void {
  for (const i of f.ids) if (existsSync(join(f.root, i))) tsrun(f.root, ['delete', '--force', i]);
  const left = leaks({ root: f.root, dirs: f.dirs, ids: f.ids });
  killLeftovers();
  f.scratch.remove();
  expect(left).toEqual([]);
}
