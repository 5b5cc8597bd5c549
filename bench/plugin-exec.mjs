#!/usr/bin/env node
// Start-up of one CNI plugin exec (issue 14): `VERSION` of an installed tsrun
// plugin (`tsrun plugins install` into a temp dir) against the reference
// executable, with `node -e 0` as the floor, each with an empty environment
// (only CNI_COMMAND), interleaved. Flags as main.mjs (--quick, --n N,
// --warmup W, --only …: runs when "plugin-exec" is listed or --only is absent).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, fmtX, ratio, summarize, table } from './lib/stats.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const argv = process.argv.slice(2);
const flag = (name) => { const i = argv.indexOf(name); return i < 0 ? undefined : argv[i + 1]; };
const only = flag('--only');
if (only && !only.split(',').includes('plugin-exec')) process.exit(0);
const quick = argv.includes('--quick');
const n = Number(flag('--n') ?? (quick ? 5 : 20));
const warmup = Number(flag('--warmup') ?? (quick ? 1 : 3));

const tmp = mkdtempSync(join(tmpdir(), 'tsbench-pexec-'));
try {
  const inst = spawnSync(process.execPath, [join(repo, 'dist/tsrun.js'), 'plugins', 'install', join(tmp, 'bin')], { encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`plugins install: ${inst.stderr}`);
  const variants = {
    'node -e 0 (floor)': [process.execPath, ['-e', '0']],
    'reference bridge VERSION': ['/usr/lib/cni/bridge', []],
    'tsrun bridge VERSION (installed)': [join(tmp, 'bin', 'bridge'), []],
    'reference firewall VERSION': ['/usr/lib/cni/firewall', []],
    'tsrun firewall VERSION (installed)': [join(tmp, 'bin', 'firewall'), []],
  };
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const names = Object.keys(variants);
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const [cmd, args] = variants[name];
      const t = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, cwd: '/' });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0) throw new Error(`${name}: exit ${r.status}: ${r.stdout}${r.stderr}`);
      if (i >= warmup) samples[name].push(ms);
    }
  }
  const s = Object.fromEntries(names.map((k) => [k, summarize(samples[k])]));
  const m = (k) => s[k].medianMs;
  console.log();
  console.log(`Plugin exec start-up (issue 14): CNI_COMMAND=VERSION, empty environment, N=${n} after ${warmup} warm-up, interleaved`);
  console.log(table([
    ['', 'median', 'p90', 'vs reference', '/ node -e 0'],
    ...names.map((k) => {
      const ref = k.startsWith('tsrun bridge') ? 'reference bridge VERSION' : k.startsWith('tsrun firewall') ? 'reference firewall VERSION' : undefined;
      return [k, fmtMs(m(k)), fmtMs(s[k].p90Ms), ref ? fmtX(ratio(m(k), m(ref))) : '', fmtX(ratio(m(k), m('node -e 0 (floor)')))];
    }),
  ]));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
