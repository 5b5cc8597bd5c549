import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from './lib/stats.mjs';
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
// what the poststop hooks should have released
const ips = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : []);
const cached = (dir) => (existsSync(join(dir, 'results')) ? readdirSync(join(dir, 'results')) : []);
const leftovers = { ips: ips(p.ipamDir), cacheResults: p.cacheDirs.flatMap(cached) };
const out = { leftovers, samples: {} };
for (const [k, v] of Object.entries(samples)) out.samples[k] = summarize(v);
writeFileSync(p.out, JSON.stringify(out));
