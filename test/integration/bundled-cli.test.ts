import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, Scratch, isRoot } from '../helpers/bundle.js';

// The shipped entry (dist/tsrun.js, bundled by esbuild) does what the
// per-module build does: the other files test the per-module build.

const s = new Scratch('bundled');
afterAll(() => s.remove());

describe('bundled CLI', () => {
  it('runs a container with a generated id and leaves no state', () => {
    const bundle = s.bundle(['sh', '-c', 'echo bundled-ok; exit 3']);
    const r = spawnSync(process.execPath, [join(REPO, 'dist/tsrun.js'), '--root', s.root, 'run', bundle], { encoding: 'utf8' });
    expect(r.stdout).toContain('bundled-ok');
    expect(r.status).toBe(3);
    const list = spawnSync(process.execPath, [join(REPO, 'dist/tsrun.js'), '--root', s.root, 'list', '-q'], { encoding: 'utf8' });
    expect(list.stdout.trim()).toBe('');
  });
});

// dist/tsrun.cjs keeps V8's code for the bundle's files in compile-cache/ next to
// them (scripts/launcher.cjs). Tried on a copy of the bundle's files, so the
// shared dist/ is left alone.
describe('compile cache', () => {
  const copy = join(s.dir, 'dist');
  const cache = join(copy, 'compile-cache');
  mkdirSync(copy, { mode: 0o755 });
  chmodSync(s.dir, 0o755);
  for (const f of readdirSync(join(REPO, 'dist'))) if (/^(tsrun|tsrun-main|chunk-.*)\.cjs$|^build-info\.json$/.test(f)) copyFileSync(join(REPO, 'dist', f), join(copy, f));
  let n = 0;
  /** `tsrun spec` into a new dir (it loads a chunk lazily), as `user` when given; its status. */
  const spec = (user?: string): number => {
    const out = join(s.dir, `spec-${n++}`);
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const cmd = [process.execPath, join(copy, 'tsrun.cjs'), 'spec', '-b', out];
    const r = user ? spawnSync('runuser', ['-u', user, '--', ...cmd], { encoding: 'utf8' }) : spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).ociVersion).toMatch(/^1\./);
    return r.status ?? -1;
  };
  const cached = () => (existsSync(cache) ? readdirSync(cache).sort() : []);

  it('runs without one, and makes none when the directory is missing', () => {
    expect(spec()).toBe(0);
    expect(existsSync(cache)).toBe(false);
  });

  it("is written by the directory's owner at the first exit, then used", () => {
    mkdirSync(cache, { mode: 0o755 });
    chmodSync(cache, 0o755);
    expect(spec()).toBe(0);
    const files = cached();
    expect(files.some((f) => f.startsWith('tsrun-main.cjs.'))).toBe(true);
    expect(files.some((f) => f.startsWith('chunk-'))).toBe(true);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(spec()).toBe(0);
    expect(cached()).toEqual(files);
  });

  it('replaces a cache V8 rejects', () => {
    const main = cached().find((f) => f.startsWith('tsrun-main.cjs.'))!;
    writeFileSync(join(cache, main), 'not a code cache');
    expect(spec()).toBe(0);
    expect(readFileSync(join(cache, main)).length).toBeGreaterThan(100);
  });

  it.skipIf(!isRoot)('is read but never written by another user', () => {
    rmSync(cache, { recursive: true });
    mkdirSync(cache, { mode: 0o755 });
    chmodSync(cache, 0o755);
    expect(spec('nobody')).toBe(0);
    expect(cached()).toEqual([]);
  });

  it('is ignored when others may write to the directory', () => {
    chmodSync(cache, 0o777);
    expect(spec()).toBe(0);
    expect(cached()).toEqual([]);
  });
});
