import { expect } from 'vitest';
import type { Result } from './bundle.js';
import { leakedProcesses, mountsUnder, stateEntries } from './leak-check.js';

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

/** Nothing of any container under `root` is left: state, processes, mounts under `dirs`. */
export function expectNothingLeft(root: string, dirs: string[]): void {
  expect(stateEntries(root)).toEqual([]);
  expect(leakedProcesses()).toEqual([]);
  for (const d of dirs) expect(mountsUnder(d)).toEqual([]);
}
