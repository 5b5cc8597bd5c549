#!/usr/bin/env node
// What each CLI command loads before it runs: the chunks dist/tsrun.cjs and the
// command's own chunk require at once (their bytes; scripts/bundle.mjs packs
// them into those two files), and how many chunks stay lazy (loaded only when
// the command needs them). Reads dist/meta-tsrun.json, which bundle.mjs writes.
//   node scripts/load-report.mjs [COMMAND] [--inputs]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const meta = JSON.parse(readFileSync(new URL('../dist/meta-tsrun.json', import.meta.url), 'utf8'));
const outs = Object.fromEntries(Object.entries(meta.outputs).map(([k, v]) => [basename(k), v]));
const showInputs = process.argv.includes('--inputs');
const only = process.argv.slice(2).find((a) => !a.startsWith('--'));

/** Files loaded together with `file`: its static imports, transitively. */
function eager(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const i of outs[file].imports) if (i.kind === 'import-statement' && !i.external) eager(basename(i.path), seen);
  return seen;
}

const bytes = (files) => [...files].reduce((n, f) => n + outs[f].bytes, 0);
const owner = (input) => (input.includes('node_modules/') ? input.split('node_modules/')[1].split('/')[0] : input.split(':').at(-1).replace(/^.*node_modules\//, ''));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const main = eager('tsrun.cjs');
console.log(`dist/tsrun-main.cjs (the CLI, loaded by dist/tsrun.cjs) and its static imports: ${main.size} chunk(s), ${kb(bytes(main))}`);
for (const imp of outs['tsrun.cjs'].imports.filter((i) => i.kind === 'dynamic-import')) {
  const file = basename(imp.path);
  const command = Object.keys(outs[file].inputs).find((k) => k.includes('src/cli/commands/'));
  const name = command ? basename(command, '.ts') : file;
  if (only && name !== only) continue;
  const files = new Set([...eager(file)].filter((f) => !main.has(f)));
  const inputs = [...files].flatMap((f) => Object.entries(outs[f].inputs).map(([k, v]) => [k, v.bytesInOutput]));
  const pkgs = [...new Set(inputs.filter(([k]) => k.includes('node_modules')).map(([k]) => owner(k)))];
  const lazy = new Set([...files].flatMap((f) => outs[f].imports.filter((i) => i.kind === 'dynamic-import').map((i) => basename(i.path))));
  const koffi = inputs.some(([k]) => k.endsWith('src/sys/koffi.ts'));
  console.log(`${name.padEnd(9)} +${String(files.size).padStart(2)} chunk(s) ${kb(bytes(files)).padStart(9)}  packages: ${pkgs.join(', ') || '-'}${koffi ? ' (+ src/sys/koffi.ts)' : ''}  lazy: ${lazy.size} chunk(s)`);
  if (showInputs) for (const [k, n] of inputs.sort((a, b) => b[1] - a[1])) console.log(`            ${String(n).padStart(7)}  ${k.replace(/^.*node_modules\//, '')}`);
}
