import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENV, Runner, vmHwm, waitGone } from './lib/proc.mjs';
import { summarize } from './lib/stats.mjs';
import { readTimings } from './lib/timings.mjs';

// Start-up: `node -e 0` (the floor) against every CLI command of tsrun and of
// runc, one by one:
//   run            the busybox bundle running /bin/true
//   lifecycle      create → state → list → start → exec /bin/true → kill KILL → delete,
//                  of the bundle running `sleep 60`
//   force          create → start → delete --force (of a running container)
// Variants are interleaved round-robin (iteration i of each, then i+1) so load
// from other work on the machine spreads over all of them alike. Every command
// runs with a cleared environment (PATH only, as `env -i PATH=…`).
// Then, in separate runs: peak RSS and CPU time (GNU time), the memory of an
// init waiting for `start`, and TSRUN_TIMINGS breakdowns of `tsrun run`.

export function makeBundle(repo, dir, args = ['/bin/true']) {
  const spec = JSON.parse(readFileSync(join(repo, 'bundles/busybox/config.json'), 'utf8'));
  spec.process.args = args;
  spec.process.terminal = false;
  spec.root = { ...spec.root, path: resolve(repo, 'bundles/busybox/rootfs') };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/** The rows of the start-up table: [key, label]; keys are `${tool}.${command}`. */
export const COMMANDS = [
  ['run', 'run'],
  ['create', 'create'],
  ['state', 'state'],
  ['list', 'list'],
  ['start', 'start'],
  ['exec', 'exec /bin/true'],
  ['kill', 'kill KILL'],
  ['delete', 'delete'],
  ['forceDelete', 'delete --force (running)'],
];

export async function benchStartup({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-startup-'));
  const trueBundle = makeBundle(repo, mkdtempSync(join(tmp, 'bundle-true-')));
  const sleepBundle = makeBundle(repo, mkdtempSync(join(tmp, 'bundle-sleep-')), ['/bin/sleep', '60']);
  const tsRoot = join(tmp, 'tsrun-root');
  const rcRoot = join(tmp, 'runc-root');
  const node = process.execPath;
  // The shipped entry: the bundle (bin in package.json).
  const cli = join(repo, 'dist/tsrun.js');
  const tools = {
    tsrun: (...a) => [node, [cli, '--root', tsRoot, ...a]],
    runc: (...a) => ['runc', ['--root', rcRoot, ...a]],
  };
  const r = new Runner(log);
  let seq = 0;
  const newId = (p) => `tsbench-${p}-${process.pid}-${seq++}`;
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);

  /** Runs one command of `name`; `measure` is Runner.time or Runner.usage; returns what it returns. */
  const lifecycle = (name, measure, put) => {
    const tool = tools[name];
    const id = newId('lc');
    const pidFile = join(tmp, `${id}.pid`);
    put('create', measure(...tool('create', '--bundle', sleepBundle, '--pid-file', pidFile, id)));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    put('init', vmHwm(pid)); // the init waiting on exec.fifo, before execve
    put('state', measure(...tool('state', id)));
    put('list', measure(...tool('list')));
    put('start', measure(...tool('start', id)));
    put('exec', measure(...tool('exec', id, '/bin/true')));
    put('kill', measure(...tool('kill', id, 'KILL')));
    waitGone(pid);
    put('delete', measure(...tool('delete', id)));
  };
  const force = (name, measure, put) => {
    const tool = tools[name];
    const id = newId('fd');
    measure(...tool('create', '--bundle', sleepBundle, id));
    measure(...tool('start', id));
    put('forceDelete', measure(...tool('delete', '--force', id)));
  };
  const time = (cmd, args) => r.time(cmd, args);

  const variants = [
    (rec) => { const t = time(node, ['-e', '0']); if (rec) add('node', t); },
    ...['tsrun', 'runc'].map((name) => (rec) => { const t = time(...tools[name]('run', '--bundle', trueBundle, newId('run'))); if (rec) add(`${name}.run`, t); }),
    ...['tsrun', 'runc'].map((name) => (rec) => {
      const got = {};
      lifecycle(name, time, (k, v) => (got[k] = v));
      if (!rec) return;
      for (const [k, v] of Object.entries(got)) if (k !== 'init') add(`${name}.${k}`, v);
      add(`${name}.cycle`, got.create + got.start + got.delete);
    }),
    ...['tsrun', 'runc'].map((name) => (rec) => force(name, time, (k, v) => rec && add(`${name}.${k}`, v))),
  ];

  const rss = {};
  const cpu = {};
  const breakdown = [];
  /** functions V8 optimized during one traced `run` */
  let optimized = [];
  let cleaned = false;
  const cleanAll = () => {
    if (cleaned) return;
    cleaned = true;
    cleanup(r, tools, tsRoot, rcRoot);
    r.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  onCleanup(cleanAll);
  const yieldToSignals = () => new Promise((res) => setImmediate(res));
  try {
    for (let i = 0; i < warmup + n; i++) {
      progress(`startup ${i < warmup ? 'warm-up' : 'run'} ${i < warmup ? i + 1 : i - warmup + 1}/${i < warmup ? warmup : n}`);
      for (const f of variants) f(i >= warmup);
      await yieldToSignals();
    }

    // Peak RSS and CPU time, in separate runs (the time wrapper would add to the wall times).
    const k = Math.min(n, 5);
    const col = {};
    const cpuCol = {};
    const put = (key, v) => {
      if (v && typeof v === 'object') {
        (cpuCol[key] ??= []).push(v.cpuMs);
        v = v.rssKb;
      }
      (col[key] ??= []).push(v);
    };
    const usage = (cmd, args) => r.usage(cmd, args);
    for (let i = 0; i < k; i++) {
      progress(`startup peak RSS ${i + 1}/${k}`);
      await yieldToSignals();
      put('node', usage(node, ['-e', '0']));
      for (const name of ['tsrun', 'runc']) {
        put(`${name}.run`, usage(...tools[name]('run', '--bundle', trueBundle, newId('rss'))));
        lifecycle(name, usage, (key, v) => put(`${name}.${key}`, v));
        force(name, usage, (key, v) => put(`${name}.${key}`, v));
      }
    }
    const med = (xs) => xs.filter((x) => x != null).sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
    for (const [key, v] of Object.entries(col)) rss[key] = med(v);
    for (const [key, v] of Object.entries(cpuCol)) cpu[key] = med(v);

    // Where the milliseconds of each tsrun command go (TSRUN_TIMINGS, see src/explain/timings.ts).
    const timingsFile = join(tmp, 'timings.jsonl');
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    const timed = (cmd, args) => {
      const t0 = now();
      r.time(cmd, args, { env: { ...ENV, TSRUN_TIMINGS: timingsFile } });
      breakdown.push(...readTimings(timingsFile, t0, now()));
      rmSync(timingsFile, { force: true });
    };
    for (let i = 0; i < k; i++) {
      progress(`startup breakdown ${i + 1}/${k}`);
      await yieldToSignals();
      timed(...tools.tsrun('run', '--bundle', trueBundle, newId('tim')));
      lifecycle('tsrun', timed, () => {});
      force('tsrun', timed, () => {});
    }
    // Which functions V8's optimizing compiler took on in a `run` (--trace-opt): loading
    // that compiler cost the CLI ≈ 4.5 MiB of peak RSS when a path helper got hot.
    const [cmd, args] = tools.tsrun('run', '--bundle', trueBundle, newId('opt'));
    const traced = spawnSync(cmd, ['--trace-opt', ...args], { env: ENV, encoding: 'utf8' });
    optimized = [...new Set([...traced.stdout.matchAll(/completed optimizing .*?<JSFunction (\S*)/g)].map((m) => m[1] || '(anonymous)'))];
  } finally {
    cleanAll();
  }

  const out = {};
  for (const [k, v] of Object.entries(samples)) out[k] = summarize(v);
  return { samples: out, rssKb: rss, cpuMs: cpu, breakdown, optimized, rssMethod: {
    cpu: 'user+sys of the same /usr/bin/time runs (reaped children included: for `run`, CLI + init + container)',
    cli: '/usr/bin/time -f %M (wait4 ru_maxrss: the process itself, or a child it reaped if larger; for `run` that is max(CLI, init))',
    init: 'VmHWM of /proc/<init pid>/status while the init waits on exec.fifo after create',
  } };
}

/** Deletes (force) every container left in our own state dirs, then nothing else. */
function cleanup(r, tools, tsRoot, rcRoot) {
  for (const [tool, root] of [[tools.tsrun, tsRoot], [tools.runc, rcRoot]]) {
    if (!existsSync(root)) continue;
    for (const id of readdirSync(root)) {
      if (!id.startsWith('tsbench-')) continue;
      try {
        r.time(...tool('delete', '--force', id), { allowFail: true });
      } catch {
        // best effort
      }
    }
  }
}
