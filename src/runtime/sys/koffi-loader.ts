import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Koffi = typeof import('koffi');

/** Loads koffi's prebuilt addon directly: ≈10 ms faster than require('koffi'). */
let loaded: Koffi | undefined;

export function loadKoffi(): Koffi {
  loaded ??= load();
  return loaded;
}

function load(): Koffi {
  const require = createRequire(import.meta.url);
  try {
    const pkg = require.resolve(`@koromix/koffi-linux-${process.arch}/package.json`);
    const mod = { exports: {} as Koffi };
    process.dlopen(mod, join(dirname(pkg), `linux_${process.arch}`, 'koffi.node'));
    if (typeof mod.exports.load === 'function') return mod.exports;
  } catch {
    // fall back to the package's own loader
  }
  return require('koffi') as Koffi;
}

