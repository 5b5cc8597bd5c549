import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { child } from '../common/paths.js';

export type Koffi = typeof import('koffi');

// Loads koffi's prebuilt addon directly with process.dlopen: ≈10 ms faster
// than require('koffi'), whose loader probes several builds. The addon is found
// by looking up node_modules/ from this file, as require.resolve would but
// without reading package.json files on the way; require('koffi') stays the
// fallback for any other layout.
let loaded: Koffi | undefined;

export function loadKoffi(): Koffi {
  loaded ??= load();
  return loaded;
}

function addonPath(): string | undefined {
  const rel = `node_modules/@koromix/koffi-${process.platform}-${process.arch}/${process.platform}_${process.arch}/koffi.node`;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const path = child(dir, rel);
    if (existsSync(path)) return path;
    if (dirname(dir) === dir) return undefined;
  }
}

function load(): Koffi {
  try {
    const addon = addonPath();
    if (addon) {
      const mod = { exports: {} as Koffi };
      process.dlopen(mod, addon);
      if (typeof mod.exports.load === 'function') return mod.exports;
    }
  } catch {
    // fall back to the package's own loader
  }
  return createRequire(import.meta.url)('koffi') as Koffi;
}
