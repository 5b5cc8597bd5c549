import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from './lib/stats.mjs';
import { readTimings } from './lib/timings.mjs';
import { ENV, ms } from './lib/netenv.mjs';

// Runs under `nsenter --net=/run/netns/tsbench-hostr-PID` (see netrun.mjs):
// each variant's command once per iteration, order rotated per iteration,
// stdio to the log (stdout of this process). Writes its JSON to p.out.

const p = JSON.parse(process.argv[2]);
const progress = (m) => process.stderr.write(`${m}\n`);
const samples = {};
const names = Object.keys(p.variants);
for (let i = 0; i < p.warmup + p.n; i++) {
  const rec = i >= p.warmup;
  progress(`netrun ${rec ? 'run' : 'warm-up'} ${rec ? i - p.warmup + 1 : i + 1}/${rec ? p.n : p.warmup}`);
  for (let j = 0; j < names.length; j++) {
    const v = names[(i + j) % names.length];
    const [cmd, args] = p.variants[v];
    const id = `${p.idPrefix}${v.replace('.', '-')}-${i}`;
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, [...args, id], { stdio: ['ignore', 1, 1], env: ENV });
    const took = ms(t);
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${v}: ${cmd} ${args.join(' ')} ${id}: exit ${r.status ?? r.signal}`);
    if (rec) (samples[v] ??= []).push(took);
  }
}
// TSRUN_TIMINGS runs (separate from the timed ones): where `tsrun run --net`'s milliseconds go
const breakdown = [];
for (let i = 0; i < (p.timings?.runs ?? 0); i++) {
  progress(`netrun breakdown ${i + 1}/${p.timings.runs}`);
  const [cmd, args] = p.variants[p.timings.variant];
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const t0 = now();
  const r = spawnSync(cmd, [...args, `${p.idPrefix}tim-${i}`], { stdio: ['ignore', 1, 1], env: { ...ENV, TSRUN_TIMINGS: p.timings.file } });
  const t1 = now();
  if (r.status !== 0) throw new Error(`${p.timings.variant} with TSRUN_TIMINGS: exit ${r.status ?? r.signal}`);
  breakdown.push(...readTimings(p.timings.file, t0, t1));
  rmSync(p.timings.file, { force: true });
}
// what the poststop hooks should have released
const ips = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : []);
const cached = (dir) => (existsSync(join(dir, 'results')) ? readdirSync(join(dir, 'results')) : []);
const leftovers = { ips: ips(p.ipamDir), cacheResults: p.cacheDirs.flatMap(cached) };
const out = { leftovers, breakdown, samples: {} };
for (const [k, v] of Object.entries(samples)) out.samples[k] = summarize(v);
writeFileSync(p.out, JSON.stringify(out));
