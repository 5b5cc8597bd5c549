import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/load.js';

// Runs the compiled CLI (the suite builds dist/ before vitest starts).
const cli = join(import.meta.dirname, '../../dist/cli/main.js');

describe.skipIf(!existsSync(cli))('tsrun spec', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-spec-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const readSpec = () => parseSpec(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');

  it('writes a valid config.json and leaves no temp file', () => {
    execFileSync('node', [cli, 'spec', '-b', dir]);
    expect(readSpec().hostname).toBe('tsrun');
    expect(readdirSync(dir)).toEqual(['config.json']);
  });

  it('--rootless writes a user namespace', () => {
    execFileSync('node', [cli, 'spec', '--bundle', dir, '--rootless']);
    expect(readSpec().linux?.namespaces?.map((n) => n.type)).toContain('user');
  });

  it('refuses to overwrite an existing config.json', () => {
    execFileSync('node', [cli, 'spec', '-b', dir]);
    const before = readFileSync(join(dir, 'config.json'), 'utf8');
    const second = spawnSync('node', [cli, 'spec', '-b', dir], { encoding: 'utf8' });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`File ${join(dir, 'config.json')} exists. Remove it first`);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(before);
  });

  it('fails clearly for a missing bundle directory', () => {
    const result = spawnSync('node', [cli, 'spec', '-b', join(dir, 'nope')], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no such file or directory');
  });
});
