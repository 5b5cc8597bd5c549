import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering rules (issue 15), read off the imports of src/:
//   spec/       pure data: the config's schemas, types and loading
//   sys/        the kernel door: knows nothing of containers or networks
//   network/    CNI client, plugins, netns handles, the CNI hook's library: no runtime, no CLI
//   runtime/    containers: no network code; networks come in through hooks the CLI hands over
//   cli/        the only place that imports everything
// Shared by both halves: common/ (ids, secure join, in-root resolution), errors.ts, explain/, output.ts.

const SRC = resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import (static, dynamic, type-only) of a file, as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(relative(SRC, resolve(dirname(file), m[1]!)));
  }
  return out;
}

const area = (path: string): string => path.split('/')[0]!;
const ALL = files(SRC).map((f) => ({ file: relative(SRC, f), imports: importsOf(f) }));

function violations(from: string, forbidden: string[]): string[] {
  return ALL.filter((f) => area(f.file) === from).flatMap((f) => f.imports.filter((i) => forbidden.includes(area(i))).map((i) => `${f.file} → ${i}`));
}

describe('layering of src/', () => {
  it('finds the modules and their imports', () => {
    expect(ALL.length).toBeGreaterThan(100);
    expect(ALL.some((f) => f.imports.some((i) => area(i) === 'sys'))).toBe(true);
  });

  it('spec/ is pure data', () => {
    expect(violations('spec', ['sys', 'network', 'runtime', 'cli', 'oci-hooks', 'image'])).toEqual([]);
  });

  it('the kernel door (sys/) imports nothing of containers, networks or the command line', () => {
    expect(violations('sys', ['spec', 'network', 'runtime', 'cli', 'oci-hooks', 'image'])).toEqual([]);
  });

  it('the network half imports nothing from the runtime or the command line', () => {
    expect(violations('network', ['runtime', 'cli', 'oci-hooks', 'image'])).toEqual([]);
  });

  it('the runtime imports no network code and no command line', () => {
    expect(violations('runtime', ['network', 'cli'])).toEqual([]);
    expect(violations('oci-hooks', ['network', 'cli'])).toEqual([]);
  });

  it('shared helpers (common/) import only the kernel door and errors', () => {
    expect(violations('common', ['spec', 'network', 'runtime', 'cli', 'oci-hooks', 'image'])).toEqual([]);
  });
});
