import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envValue, lookPath } from '../../src/runtime/process/lookpath.js';
import { caught } from '../helpers/caught.js';

// lookPath resolves args[0] like execvp, with the container's PATH, and fails
// with the words podman maps to 127 ("no such file or directory") and 126
// ("permission denied").

const dir = mkdtempSync(join(tmpdir(), 'tsrun-unit-lookpath-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(rel: string, mode: number): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, mode);
  return p;
}

const a = join(dir, 'a');
const b = join(dir, 'b');
file('a/tool', 0o755);
file('b/tool', 0o755);
file('a/noexec', 0o644);
file('b/noexec', 0o755);
file('a/only-noexec', 0o644);
file('b/exec-other', 0o744);
mkdirSync(join(dir, 'a/adir'));


describe('lookPath', () => {
  it('takes the first executable hit in PATH order', () => {
    expect(lookPath('tool', [`PATH=${a}:${b}`])).toBe(join(a, 'tool'));
    expect(lookPath('tool', [`PATH=${b}:${a}`])).toBe(join(b, 'tool'));
  });

  it('skips a non-executable hit and goes on', () => {
    expect(lookPath('noexec', [`PATH=${a}:${b}`])).toBe(join(b, 'noexec'));
  });

  it('an x bit for the owner alone is enough for the owner', () => {
    expect(lookPath('exec-other', [`PATH=${b}`])).toBe(join(b, 'exec-other'));
  });

  it('a name found nowhere: ENOENT and "no such file or directory"', () => {
    const e = caught(() => lookPath('rt-unit-missing', [`PATH=${a}:${b}`]));
    expect(e.errno).toBe('ENOENT');
    expect(e.message).toContain('"rt-unit-missing"');
    expect(e.message).toContain('executable file not found in $PATH: no such file or directory');
  });

  it('a name found only without x bits (or as a directory): EACCES and "permission denied"', () => {
    for (const name of ['only-noexec', 'adir']) {
      const e = caught(() => lookPath(name, [`PATH=${a}:${b}`]));
      expect(e.errno).toBe('EACCES');
      expect(e.message).toContain('permission denied');
    }
  });

  it('a path with a slash is checked as is, never searched', () => {
    expect(lookPath(join(a, 'tool'), ['PATH=/nonexistent'])).toBe(join(a, 'tool'));
    const missing = caught(() => lookPath(join(a, 'nope'), [`PATH=${a}`]));
    expect(missing.errno).toBe('ENOENT');
    expect(missing.message).toContain('no such file or directory');
    const denied = caught(() => lookPath(join(a, 'noexec'), [`PATH=${b}`]));
    expect(denied.errno).toBe('EACCES');
    expect(denied.message).toContain('permission denied');
  });

  it('without PATH in env, uses the default PATH', () => {
    expect(lookPath('sh', [])).toMatch(/^\/(usr\/)?(s)?bin\/sh$/);
    expect(lookPath('sh', undefined)).toMatch(/\/sh$/);
  });
});

describe('envValue', () => {
  it('finds KEY=value by exact key, first wins, values may hold "="', () => {
    const env = ['PATHX=1', 'PATH=/a=b', 'PATH=/second'];
    expect(envValue(env, 'PATH')).toBe('/a=b');
    expect(envValue(env, 'HOME')).toBeUndefined();
    expect(envValue(undefined, 'PATH')).toBeUndefined();
    expect(envValue(['EMPTY='], 'EMPTY')).toBe('');
  });
});

describe('lookPath for the container user', () => {
  // The check runs as root before the uid change; it must judge for the user who will exec.
  const owner = statSync(join(b, 'exec-other'));
  it('a 0744 file of another owner is not executable for uid 1000, but is for root', () => {
    expect(lookPath(join(b, 'exec-other'), [], { uid: 0, gid: 0 })).toBe(join(b, 'exec-other'));
    const err = caught(() => lookPath(join(b, 'exec-other'), [], { uid: owner.uid + 1000, gid: owner.gid + 1000 }));
    expect(err.message).toContain('permission denied');
  });
  it('group and other bits count for members and others; CAP_DAC_OVERRIDE needs only some x bit', () => {
    const p = file('c/group-x', 0o710);
    const st = statSync(p);
    expect(lookPath(p, [], { uid: st.uid + 1000, gid: 4242, additionalGids: [st.gid] })).toBe(p);
    expect(() => lookPath(p, [], { uid: st.uid + 1000, gid: 4242 })).toThrow('permission denied');
    expect(lookPath(p, [], { uid: st.uid + 1000, gid: 4242, dacOverride: true })).toBe(p);
  });
});
