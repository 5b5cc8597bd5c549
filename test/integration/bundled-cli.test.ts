import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, Scratch } from '../helpers/bundle.js';
import { join } from 'node:path';

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
