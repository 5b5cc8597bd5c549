import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Runner, vmHwm, waitGone } from './lib/proc.mjs';
import { summarize } from './lib/stats.mjs';

// Start-up: `node -e 0` (the floor) vs `tsrun run` vs `runc run` of the
// busybox bundle running /bin/true, and create / start / delete one by one.
// Variants are interleaved round-robin (run i of each, then run i+1) so load
// from other work on the machine spreads over all of them alike.

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

export function makeBundle(repo, dir) {
  const spec = JSON.parse(readFileSync(join(repo, 'bundles/busybox/config.json'), 'utf8'));
  spec.process.args = ['/bin/true'];
  spec.process.terminal = false;
  spec.root = { ...spec.root, path: resolve(repo, 'bundles/busybox/rootfs') };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

export async function benchStartup({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-startup-'));
  const bundle = makeBundle(repo, mkdtempSync(join(tmp, 'bundle-')));
  const tsRoot = join(tmp, 'tsrun-root');
  const rcRoot = join(tmp, 'runc-root');
  const node = process.execPath;
  // The shipped entry: the esbuild bundle (bin in package.json).
  const cli = join(repo, 'dist/tsrun.js');
  const tsrun = (...a) => [node, [cli, '--root', tsRoot, ...a]];
  const runc = (...a) => ['runc', ['--root', rcRoot, ...a]];
  const r = new Runner(log);
  let seq = 0;
  const newId = (p) => `tsbench-${p}-${process.pid}-${seq++}`;
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);

  const cycle = (tool, name, rec) => {
    const id = newId(name);
    const pidFile = join(tmp, `${id}.pid`);
    const c = rec ? (k, v) => add(`${name}.${k}`, v) : () => {};
    const t1 = r.time(...tool('create', '--bundle', bundle, '--pid-file', pidFile, id), { env: ENV });
    const t2 = r.time(...tool('start', id), { env: ENV });
    waitGone(Number(readFileSync(pidFile, 'utf8')));
    const t3 = r.time(...tool('delete', id), { env: ENV });
    c('create', t1);
    c('start', t2);
    c('delete', t3);
    c('cycle', t1 + t2 + t3);
  };

  const variants = [
    ['node -e 0', (rec) => { const t = r.time(node, ['-e', '0'], { env: ENV }); if (rec) add('node', t); }],
    ['tsrun run', (rec) => { const t = r.time(...tsrun('run', '--bundle', bundle, newId('run')), { env: ENV }); if (rec) add('tsrun.run', t); }],
    ['runc run', (rec) => { const t = r.time(...runc('run', '--bundle', bundle, newId('run')), { env: ENV }); if (rec) add('runc.run', t); }],
    ['tsrun create/start/delete', (rec) => cycle(tsrun, 'tsrun', rec)],
    ['runc create/start/delete', (rec) => cycle(runc, 'runc', rec)],
  ];

  const rss = {};
  const cpu = {};
  let cleaned = false;
  const cleanAll = () => {
    if (cleaned) return;
    cleaned = true;
    cleanup(r, tsrun, runc, tsRoot, rcRoot);
    r.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  onCleanup(cleanAll);
  const yieldToSignals = () => new Promise((res) => setImmediate(res));
  try {
    for (let i = 0; i < warmup + n; i++) {
      progress(`startup ${i < warmup ? 'warm-up' : 'run'} ${i < warmup ? i + 1 : i - warmup + 1}/${i < warmup ? warmup : n}`);
      for (const [, f] of variants) f(i >= warmup);
      await yieldToSignals();
    }

    // Peak RSS, in separate runs (the time wrapper would add to the wall times).
    const k = Math.min(n, 5);
    const med = (xs) => xs.filter((x) => x != null).sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
    const col = {};
    const cpuCol = {};
    const put = (key, v) => {
      if (v && typeof v === 'object') {
        (cpuCol[key] ??= []).push(v.cpuMs);
        v = v.rssKb;
      }
      (col[key] ??= []).push(v);
    };
    for (let i = 0; i < k; i++) {
      progress(`startup peak RSS ${i + 1}/${k}`);
      await yieldToSignals();
      put('node', r.usage(node, ['-e', '0'], { env: ENV }));
      put('tsrun.run', r.usage(...tsrun('run', '--bundle', bundle, newId('rss'))));
      put('runc.run', r.usage(...runc('run', '--bundle', bundle, newId('rss'))));
      for (const [tool, name] of [[tsrun, 'tsrun'], [runc, 'runc']]) {
        const id = newId('rss');
        const pidFile = join(tmp, `${id}.pid`);
        put(`${name}.create`, r.usage(...tool('create', '--bundle', bundle, '--pid-file', pidFile, id)));
        const pid = Number(readFileSync(pidFile, 'utf8'));
        put(`${name}.init`, vmHwm(pid)); // the init waiting on exec.fifo, before execve
        put(`${name}.start`, r.usage(...tool('start', id)));
        waitGone(pid);
        put(`${name}.delete`, r.usage(...tool('delete', id)));
      }
    }
    for (const [key, v] of Object.entries(col)) rss[key] = med(v);
    for (const [key, v] of Object.entries(cpuCol)) cpu[key] = med(v);
  } finally {
    cleanAll();
  }

  const out = {};
  for (const [k, v] of Object.entries(samples)) out[k] = summarize(v);
  return { samples: out, rssKb: rss, cpuMs: cpu, rssMethod: {
    cpu: 'user+sys of the same /usr/bin/time runs (reaped children included: for `run`, CLI + init + container)',
    cli: '/usr/bin/time -f %M (wait4 ru_maxrss: the process itself, or a child it reaped if larger; for `run` that is max(CLI, init))',
    init: 'VmHWM of /proc/<init pid>/status while the init waits on exec.fifo after create',
  } };
}

/** Deletes (force) every container left in our own state dirs, then nothing else. */
function cleanup(r, tsrun, runc, tsRoot, rcRoot) {
  for (const [tool, root] of [[tsrun, tsRoot], [runc, rcRoot]]) {
    if (!existsSync(root)) continue;
    for (const id of readdirSync(root)) {
      if (!id.startsWith('tsbench-')) continue;
      try {
        r.time(...tool('delete', '--force', id), { allowFail: true, env: ENV });
      } catch {
        // best effort
      }
    }
  }
}
