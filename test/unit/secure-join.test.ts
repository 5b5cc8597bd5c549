import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureJoin } from '../../src/common/secure-join.js';
import { TsrunError } from '../../src/errors.js';

// secureJoin resolves a path inside a root as if the root were "/": symlinks
// and ".." are followed but never climb out. Each case builds its links in a
// temp "rootfs" whose parent also holds an "outside" dir, the escape target.

let base = '';
let root = '';
const link = (path: string, target: string) => symlinkSync(target, join(root, path));

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'tsrun-secure-join-'));
  root = join(base, 'rootfs');
  for (const d of ['etc', 'a/b/c', 'd', 'real']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(root, 'etc/file'), '');
  link('etc/abs', '/real');
  link('etc/abs-dotdot', '/../../../../real');
  link('etc/abs-host', join(base, 'outside'));
  link('etc/rel', '../real');
  link('etc/rel-escape', '../../../../outside');
  link('a/b/c/up', '../../../../../../outside');
  link('etc/chain1', 'chain2');
  link('etc/chain2', '/d/chain3');
  link('d/chain3', '../etc/chain4');
  link('etc/chain4', '../../outside');
  link('etc/self', 'self');
  link('etc/loop-a', 'loop-b');
  link('etc/loop-b', '/etc/loop-a');
  link('etc/dangling', '/missing/deeper');
  link('etc/dot', './real-in-etc/../..');
  link('etc/to-file', 'file');
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('secureJoin', () => {
  it('joins plain paths, ignoring ".", empty components and a leading or missing "/"', () => {
    expect(secureJoin(root, '/etc')).toBe(join(root, 'etc'));
    expect(secureJoin(root, 'etc//./file')).toBe(join(root, 'etc/file'));
    expect(secureJoin(root, '/')).toBe(root);
    expect(secureJoin(root, '')).toBe(root);
  });

  it('clamps ".." at the root', () => {
    expect(secureJoin(root, '/..')).toBe(root);
    expect(secureJoin(root, '/../../../outside')).toBe(join(root, 'outside'));
    expect(secureJoin(root, 'a/b/../../../../outside/x')).toBe(join(root, 'outside/x'));
    expect(secureJoin(root, '/a/b/c/../../d')).toBe(join(root, 'a/d'));
  });

  it('keeps missing components as written, inside the root', () => {
    expect(secureJoin(root, '/no/such/dir')).toBe(join(root, 'no/such/dir'));
    expect(secureJoin(root, '/no/such/../../etc/file')).toBe(join(root, 'etc/file'));
    expect(secureJoin(root, '/etc/file/below')).toBe(join(root, 'etc/file/below'));
  });

  it('resolves absolute symlinks from the root, not from the host "/"', () => {
    expect(secureJoin(root, '/etc/abs')).toBe(join(root, 'real'));
    expect(secureJoin(root, '/etc/abs/sub')).toBe(join(root, 'real/sub'));
    expect(secureJoin(root, '/etc/abs-dotdot/sub')).toBe(join(root, 'real/sub'));
    // a link naming a host path lands at that path under the root
    expect(secureJoin(root, '/etc/abs-host/sub')).toBe(join(root, base, 'outside/sub'));
  });

  it('resolves relative symlinks from the link\'s directory, clamping ".." at the root', () => {
    expect(secureJoin(root, '/etc/rel/sub')).toBe(join(root, 'real/sub'));
    expect(secureJoin(root, '/etc/rel-escape/sub')).toBe(join(root, 'outside/sub'));
    expect(secureJoin(root, '/a/b/c/up/sub')).toBe(join(root, 'outside/sub'));
    expect(secureJoin(root, '/etc/dot')).toBe(root);
  });

  it('follows chains of relative and absolute links', () => {
    expect(secureJoin(root, '/etc/chain1/sub')).toBe(join(root, 'outside/sub'));
    expect(secureJoin(root, 'etc/chain1/../x')).toBe(join(root, 'x'));
  });

  it('resolves a symlink in the last component to its target (a mount goes over the target)', () => {
    expect(secureJoin(root, '/etc/to-file')).toBe(join(root, 'etc/file'));
    expect(secureJoin(root, '/etc/dangling')).toBe(join(root, 'missing/deeper'));
  });

  it('fails on symlink loops instead of spinning (ELOOP-like)', () => {
    for (const p of ['/etc/self', '/etc/self/x', '/etc/loop-a/x', '/etc/loop-b']) {
      expect(() => secureJoin(root, p), p).toThrow(TsrunError);
      expect(() => secureJoin(root, p), p).toThrow(/too many symlinks/);
    }
  });

  it('never returns a path outside the root, whatever the input', () => {
    const parts = ['..', '.', 'etc', 'abs', 'abs-dotdot', 'abs-host', 'rel', 'rel-escape', 'chain1', 'a', 'b', 'c', 'up', 'd', 'chain3', 'x'];
    let seed = 8;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % parts.length;
    for (let i = 0; i < 500; i++) {
      const p = Array.from({ length: 1 + (i % 7) }, () => parts[rnd()]).join('/');
      const out = secureJoin(root, p);
      expect(out === root || out.startsWith(`${root}/`), `${p} → ${out}`).toBe(true);
    }
  });
});
