// Bundles the CLI and the init into a few files under dist/ (after tsc has
// type-checked and emitted the library). Fewer, larger modules load much
// faster than ~70 small ESM files: start-up time is a product feature.
import { build } from 'esbuild';
import { chmodSync, readdirSync, rmSync } from 'node:fs';

for (const f of readdirSync('dist')) if (/^(chunk-.*|tsrun|init-main)\.js$/.test(f)) rmSync(`dist/${f}`);

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // koffi finds its native addon through require.resolve at run time.
  external: ['koffi'],
  logLevel: 'warning',
};

// The CLI: commands stay lazily loaded, as chunks.
await build({ ...common, entryPoints: { tsrun: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunk-[hash]' });
// The init: one file, so its Node boot reads a single module.
await build({ ...common, entryPoints: { 'init-main': 'src/runtime/process/init-main.ts' }, outdir: 'dist' });
// The CNI plugins' multi-call executable: one file, since every plugin exec is a Node boot.
await build({ ...common, entryPoints: { 'cni-plugin-main': 'src/cni-plugin-main.ts' }, outdir: 'dist', allowOverwrite: true });
chmodSync('dist/tsrun.js', 0o755);
