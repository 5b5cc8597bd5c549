#!/usr/bin/env node
// npm run bench → scripts/bench.sh → this. One run: start-up, syscall cost and
// CNI latency, each against its reference measured in the same run, printed as
// tables and written to bench/results/latest.json (git-ignored).
// Flags: --quick (N=5), --n N, --warmup W, --only startup,syscalls,cni,plugins,netrun, --calls C (syscall loop).
// Benchmarks are not tests: nothing here fails on time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchStartup, COMMANDS } from './startup.mjs';
import { PER_COMMAND_COLUMNS, perCommand, summarizeBreakdowns } from './lib/timings.mjs';
import { benchCni, SUBNET } from './cni.mjs';
import { benchPlugins, CHAIN_SUBNET, CHAIN_BRIDGE, HL_SUBNET, HL_SIZES } from './plugins.mjs';
import { benchNetrun, hasBuiltin, RUN_SUBNET, RUN_BRIDGE, HOST_PORT } from './netrun.mjs';
import { table, fmtMs, fmtX, fmtKb, ratio } from './lib/stats.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..');

function parseArgs(argv) {
  const o = { n: 20, warmup: 3, only: ['startup', 'syscalls', 'cni', 'plugins', 'netrun'], calls: 1_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') { o.n = 5; o.warmup = 1; o.calls = 200_000; }
    else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--calls') o.calls = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--n N] [--warmup W] [--only startup,syscalls,cni,plugins,netrun] [--calls C]');
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  if (!(o.n >= 1)) throw new Error('--n: expected a positive number');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (process.getuid?.() !== 0) {
  console.error('bench: run as root (it creates containers and network namespaces)');
  process.exit(1);
}

// Cleanups of whatever the benches created, run on SIGINT/SIGTERM/SIGHUP too.
const cleanups = [];
const onCleanup = (f, first = false) => (first ? cleanups.unshift(f) : cleanups.push(f));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    for (const f of cleanups) {
      try {
        f();
      } catch (err) {
        process.stderr.write(`bench: cleanup: ${err.message}\n`);
      }
    }
    process.exit(130);
  });
}

// Output of the measured commands goes to a log next to the results (git-ignored).
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const log = join(resultsDir, 'output.log');
writeFileSync(log, '');
const tty = process.stderr.isTTY;
const progress = (m) => process.stderr.write(tty ? `\r\x1b[K${m}` : `${m}\n`);
const version = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.split('\n')[0] ?? '?';

const results = {
  date: new Date().toISOString(),
  machine: { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, runc: version('runc', ['--version']), loadavgStart: loadavg() },
  options: opts,
  log,
};

const out = [];
const print = (s = '') => {
  if (tty) process.stderr.write('\r\x1b[K');
  out.push(s);
  console.log(s);
};

/** Where the milliseconds of one command go, from TSRUN_TIMINGS runs (median per category). */
function printBreakdown(what, breakdowns, timedMedian) {
  if (!breakdowns?.length) return;
  const b = summarizeBreakdowns(breakdowns);
  print();
  print(`Breakdown of ${what}: TSRUN_TIMINGS=FILE, ${b.n} separate run(s), median ms per part (total ${fmtMs(b.totalMs)} ms; timed runs above: ${fmtMs(timedMedian)} ms)`);
  print(table([['part (each interval is charged to the event that ends it)', 'ms', 'share'], ...b.rows.map((r) => [r.label, r.medianMs.toFixed(1), `${((100 * r.medianMs) / b.totalMs).toFixed(0)}%`])]));
}

print(`tsrun bench — ${results.date}, Node ${process.version}, ${results.machine.runc}, kernel ${release()}, ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
print(`N=${opts.n} per row after ${opts.warmup} warm-up run(s), interleaved; times are wall ms (median, p90); ratios are of medians`);

if (opts.only.includes('startup')) {
  const s = await benchStartup({ repo, n: opts.n, warmup: opts.warmup, log, progress, onCleanup });
  results.startup = s;
  const m = (k) => s.samples[k]?.medianMs;
  const row = (label, key, vsRunc) => [
    label,
    fmtMs(m(key)),
    fmtMs(s.samples[key]?.p90Ms),
    fmtKb(s.rssKb[key]),
    s.cpuMs?.[key] == null ? '' : String(s.cpuMs[key]),
    vsRunc ? fmtX(ratio(m(key), m(vsRunc))) : '',
    key === 'node' ? '1.00×' : fmtX(ratio(m(key), m('node'))),
  ];
  print();
  print('Start-up: every command with a cleared environment (env -i PATH=…); run: busybox /bin/true; the others: a container running sleep');
  print(table([
    ['', 'median', 'p90', 'peak RSS', 'CPU ms', 'tsrun/runc', '/ node -e 0'],
    row('node -e 0 (floor)', 'node'),
    ...COMMANDS.flatMap(([key, label]) => [row(`runc ${label}`, `runc.${key}`), row(`tsrun ${label}`, `tsrun.${key}`, `runc.${key}`)]),
    row('runc create+start+delete', 'runc.cycle'),
    row('tsrun create+start+delete', 'tsrun.cycle', 'runc.cycle'),
    ['runc init waiting for start (RSS only)', '', '', fmtKb(s.rssKb['runc.init']), '', '', ''],
    ['tsrun init waiting for start (RSS only)', '', '', fmtKb(s.rssKb['tsrun.init']), '', fmtX(ratio(s.rssKb['tsrun.init'], s.rssKb['runc.init'])), ''],
  ]));
  print('peak RSS: CLI rows by /usr/bin/time -f %M (ru_maxrss; for `run` it is max(CLI, init), the init being its reaped child);');
  print('          init rows by VmHWM in /proc/<pid>/status while the init waits on exec.fifo after create. Medians of min(N,5) runs.');
  print('CPU ms: user+sys from the same /usr/bin/time runs, reaped children included (less sensitive to a busy machine than wall time).');
  printBreakdown('tsrun run /bin/true', s.breakdown.filter((b) => b.command === 'run'), m('tsrun.run'));
  if (s.optimized) print(`functions V8's optimizing compiler took on in one \`tsrun run\` (node --trace-opt): ${s.optimized.length ? s.optimized.join(', ') : 'none'}`);
  const cmds = perCommand(s.breakdown);
  print();
  print(`Start-up per tsrun command (TSRUN_TIMINGS, medians of ${cmds[0]?.n ?? 0} run(s), ms; "work" is everything else the command does):`);
  print(table([['command', 'total', ...PER_COMMAND_COLUMNS], ...cmds.map((c) => [c.command, fmtMs(c.totalMs), ...PER_COMMAND_COLUMNS.map((k) => fmtMs(c[k]))])]));
}

if (opts.only.includes('syscalls')) {
  progress('syscalls');
  const r = spawnSync(process.execPath, [join(here, 'syscalls.mjs'), repo, String(opts.calls)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`syscalls.mjs: ${r.stderr}`);
  const s = JSON.parse(r.stdout);
  results.syscalls = s;
  const ns = (k) => s.results[k].medianNs.toFixed(1);
  print();
  print(`Syscall cost: ${s.calls} calls each, ns per call (median of 5 loops); importing dist/sys/koffi.js took ${s.importKoffiModuleMs} ms, its first call (koffi loads then) ${s.firstCallMs ?? '—'} ms`);
  print(table([
    ['loop body', 'ns/call'],
    ['empty loop (baseline)', ns('emptyLoop')],
    ['plain JS function call', ns('jsCall')],
    ['process.pid (Node getter)', ns('processPid')],
    ['koffi labs() (FFI, no syscall)', ns('koffiLabs')],
    ['koffi getpid() raw', ns('koffiRawGetpid')],
    ['KoffiSyscalls.getpid() (tsrun)', ns('koffiGetpid')],
  ]));
  print(`→ koffi call overhead ≈ ${s.ffiOverheadNs} ns; the getpid syscall itself ≈ ${s.getpidSyscallNs} ns on this kernel; KoffiSyscalls.getpid ≈ ${s.koffiGetpidNs} ns above the empty loop`);
}

if (opts.only.includes('cni')) {
  const c = await benchCni({ repo, n: opts.n, warmup: opts.warmup, log, progress, onCleanup });
  results.cni = c;
  const m = (k) => c.samples[k]?.medianMs;
  const row = (label, key, floor) => [label, fmtMs(m(key)), fmtMs(c.samples[key]?.p90Ms), floor ? fmtX(ratio(m(key), m(floor))) : ''];
  print();
  print(`CNI: bridge (tsbench0, host-local ${SUBNET}, isGateway, ipMasq) → portmap (1 port), ADD then DEL on a fresh netns`);
  print(`     (host side in a private netns; CniClient module import ${c.importCniClientMs} ms, not in the per-op times)`);
  print(table([
    ['', 'median', 'p90', 'vs floor'],
    ['ADD reference plugins exec\'d (floor)', fmtMs(m('floor.add')), fmtMs(c.samples['floor.add']?.p90Ms), '1.00×'],
    ['  of which bridge (+host-local)', fmtMs(m('floor.bridge.ADD')), fmtMs(c.samples['floor.bridge.ADD']?.p90Ms), ''],
    ['  of which portmap', fmtMs(m('floor.portmap.ADD')), fmtMs(c.samples['floor.portmap.ADD']?.p90Ms), ''],
    row('ADD tsrun net add (CLI)', 'cli.add', 'floor.add'),
    row('ADD CniClient in-process', 'lib.add', 'floor.add'),
    ['DEL reference plugins exec\'d (floor)', fmtMs(m('floor.del')), fmtMs(c.samples['floor.del']?.p90Ms), '1.00×'],
    ['  of which portmap', fmtMs(m('floor.portmap.DEL')), fmtMs(c.samples['floor.portmap.DEL']?.p90Ms), ''],
    ['  of which bridge (+host-local)', fmtMs(m('floor.bridge.DEL')), fmtMs(c.samples['floor.bridge.DEL']?.p90Ms), ''],
    row('DEL tsrun net del (CLI)', 'cli.del', 'floor.del'),
    row('DEL CniClient in-process', 'lib.del', 'floor.del'),
  ]));
}

if (opts.only.includes('plugins')) {
  const c = await benchPlugins({ repo, n: opts.n, warmup: opts.warmup, log, progress, onCleanup });
  results.plugins = c;
  const m = (k) => c.samples[k]?.medianMs;
  const p9 = (k) => fmtMs(c.samples[k]?.p90Ms);
  const row = (label, key, ref, note = '') => [label, fmtMs(m(key)), p9(key), ref ? fmtX(ratio(m(key), m(ref))) : '', note];
  print();
  print(`Plugins (issue 6): bridge (${CHAIN_BRIDGE}, host-local ${CHAIN_SUBNET}, isGateway, ipMasq) → portmap (1 port) → firewall (reference, iptables backend),`);
  const fw = await hasBuiltin(repo, 'firewall');
  print(`         ADD then DEL on a fresh netns; host side in a private netns. firewall: ${fw ? 'tsrun\'s built-in in the in-process rows' : 'tsrun has no built-in firewall yet: the reference executable is exec\'d in every row'}.`);
  print(table([
    ['', 'median', 'p90', 'vs reference', ''],
    ['ADD reference plugins exec\'d directly (floor)', fmtMs(m('chain.floor.add')), p9('chain.floor.add'), fmtX(ratio(m('chain.floor.add'), m('chain.ref.add'))), ''],
    ...['bridge', 'portmap', 'firewall'].map((t) => [`  of which ${t}${t === 'bridge' ? ' (+host-local)' : ''}`, fmtMs(m(`chain.floor.${t}.ADD`)), p9(`chain.floor.${t}.ADD`), '', '']),
    ['ADD CniClient forceExec (reference executables)', fmtMs(m('chain.ref.add')), p9('chain.ref.add'), '1.00×', ''],
    row('ADD CniClient in-process (tsrun built-ins)', 'chain.lib.add', 'chain.ref.add', 'target ≤ 0.30×'),
    ['DEL reference plugins exec\'d directly (floor)', fmtMs(m('chain.floor.del')), p9('chain.floor.del'), fmtX(ratio(m('chain.floor.del'), m('chain.ref.del'))), ''],
    ...['firewall', 'portmap', 'bridge'].map((t) => [`  of which ${t}${t === 'bridge' ? ' (+host-local)' : ''}`, fmtMs(m(`chain.floor.${t}.DEL`)), p9(`chain.floor.${t}.DEL`), '', '']),
    ['DEL CniClient forceExec (reference executables)', fmtMs(m('chain.ref.del')), p9('chain.ref.del'), '1.00×', ''],
    row('DEL CniClient in-process (tsrun built-ins)', 'chain.lib.del', 'chain.ref.del', 'target ≤ 0.30×'),
    ['ADD+DEL CniClient forceExec (reference)', fmtMs(m('chain.ref.add') + m('chain.ref.del')), '', '1.00×', ''],
    ['ADD+DEL CniClient in-process (tsrun)', fmtMs(m('chain.lib.add') + m('chain.lib.del')), '', fmtX(ratio(m('chain.lib.add') + m('chain.lib.del'), m('chain.ref.add') + m('chain.ref.del'))), 'target ≤ 0.30×'],
  ]));
  const [small, big] = HL_SIZES;
  const hl = (tool, size, cmd) => `hl.${tool}.${size}.${cmd}`;
  const hlRow = (label, tool, cmd) => [
    label,
    fmtMs(m(hl(tool, small, cmd))), p9(hl(tool, small, cmd)),
    fmtMs(m(hl(tool, big, cmd))), p9(hl(tool, big, cmd)),
    fmtX(ratio(m(hl(tool, big, cmd)), m(hl(tool, small, cmd)))),
    tool === 'tsrun' && cmd === 'add' ? 'target ≤ 1.10×' : '',
  ];
  print();
  print(`host-local (issue 6): one ADD then DEL per sample, ${HL_SUBNET}, dataDir pre-filled with ${small} and ${big} allocations (the reference's files)`);
  print(table([
    ['', `at ${small} median`, 'p90', `at ${big} median`, 'p90', `at ${big}/at ${small}`, ''],
    hlRow('ADD tsrun host-local in-process', 'tsrun', 'add'),
    hlRow('ADD reference host-local exec\'d', 'ref', 'add'),
    hlRow('DEL tsrun host-local in-process', 'tsrun', 'del'),
    hlRow('DEL reference host-local exec\'d', 'ref', 'del'),
  ]));
  print(`host iptables-save (filter, nat; v4, v6): ${c.hostFirewall?.identical ? 'identical before/after' : `changed (${c.hostFirewall?.ours} line(s) ours, ${c.hostFirewall?.others} not ours)`}`);
}

if (opts.only.includes('netrun')) {
  const c = await benchNetrun({ repo, n: opts.n, warmup: opts.warmup, log, progress, onCleanup });
  results.netrun = c;
  const m = (k) => c.samples[k]?.medianMs;
  const row = (label, key, ref, note = '') => [label, fmtMs(m(key)), fmtMs(c.samples[key]?.p90Ms), ref ? fmtX(ratio(m(key), m(ref))) : '', note];
  print();
  print(`Networked run (issue 5): /bin/true with bridge (${RUN_BRIDGE}, host-local ${RUN_SUBNET}, ipMasq, isGateway) → portmap → firewall, -p ${HOST_PORT}:80,`);
  print('         network set up by a createRuntime hook and torn down by a poststop hook (ADD + DEL); runtime in a private "host" netns');
  print(table([
    ['', 'median', 'p90', 'vs runc+hook (ref)', ''],
    row('runc run, no network', 'runc.nonet', null),
    row('tsrun run, no network', 'tsrun.nonet', 'runc.nonet', 'vs runc, no network'),
    row('runc run + tsrun hook cni, reference executables', 'runc.ref', 'runc.ref'),
    row('tsrun run --net (built-ins in-process)', 'tsrun.net', 'runc.ref', 'tsrun/runc'),
    row('tsrun run --net, reference executables', 'tsrun.ref', 'runc.ref'),
    row('runc run + tsrun hook cni, built-ins in-process', 'runc.builtin', 'runc.ref'),
  ]));
  print('reference executables: the hook has no switch to force exec (--cni-path /usr/lib/cni still runs the built-ins in-process),');
  print('so those rows name the reference binaries by aliased types (tsref-bridge, tsref-portmap, tsref-firewall → /usr/lib/cni).');
  print(`firewall in the built-in rows: ${c.builtinFirewall ? 'tsrun\'s built-in, in-process' : 'tsrun has no built-in firewall yet, so the reference executable (exec\'d)'}.`);
  printBreakdown('tsrun run --net (bridge → portmap → firewall, 1 port)', c.breakdown, m('tsrun.net'));
  const lo = c.leftovers ?? {};
  print(`left after the runs: ${lo.ips?.length ?? '?'} host-local IP(s), ${lo.cacheResults?.length ?? '?'} cached CNI result(s) (poststop should leave 0)`);
  print(`host iptables-save (filter, nat; v4, v6): ${c.hostFirewall?.identical ? 'identical before/after' : `changed (${c.hostFirewall?.ours} line(s) ours, ${c.hostFirewall?.others} not ours)`}`);
}

// Issue 13's table: every ratio from this one run.
{
  const st = results.startup;
  const sm = (k) => st?.samples[k]?.medianMs;
  const vsNode = (k) => ratio(sm(k), sm('node'));
  const cliRss = Object.entries(st?.rssKb ?? {}).filter(([k]) => k.startsWith('tsrun.') && k !== 'tsrun.init').sort((a, b) => b[1] - a[1])[0];
  const net = results.netrun?.samples;
  const nm = (k) => net?.[k]?.medianMs;
  const pl = results.plugins?.samples;
  const pm = (k) => pl?.[k]?.medianMs;
  const x = (v) => (v == null ? '—' : fmtX(v));
  const rows = [
    ['tsrun run /bin/true vs node -e 0', x(vsNode('tsrun.run')), '≤ 1.6×', '≤ 1.3×'],
    ['tsrun create vs node -e 0', x(vsNode('tsrun.create')), '≤ 1.4×', '≤ 1.2×'],
    ...['state', 'start', 'kill', 'delete', 'list'].map((c) => [`tsrun ${c} vs node -e 0`, x(vsNode(`tsrun.${c}`)), '≤ 1.2×', '≤ 1.1×']),
    ['memory of a created container waiting for start', st ? fmtKb(st.rssKb['tsrun.init']) : '—', '≤ 12 MiB', `≤ runc's (${st ? fmtKb(st.rssKb['runc.init']) : '—'})`],
    [`peak RSS of the CLI (largest: ${cliRss ? cliRss[0].replace('tsrun.', '') : '—'})`, cliRss ? fmtKb(cliRss[1]) : '—', '≤ 45 MiB', '≤ 40 MiB'],
    ['tsrun run --net vs runc run + tsrun hook cni (reference plugins)', x(ratio(nm('tsrun.net'), nm('runc.ref'))), '≤ 0.4×', '≤ 0.3×'],
    ['CNI chain ADD+DEL in-process vs the reference executables', x(ratio(pm('chain.lib.add') + pm('chain.lib.del'), pm('chain.ref.add') + pm('chain.ref.del'))), '≤ 0.2×', '≤ 0.15×'],
  ];
  const also = [
    ['tsrun exec vs runc exec', x(ratio(sm('tsrun.exec'), sm('runc.exec')))],
    ['tsrun delete --force vs runc delete --force', x(ratio(sm('tsrun.forceDelete'), sm('runc.forceDelete')))],
    ['runc + tsrun hook cni: built-ins vs reference plugins', x(ratio(nm('runc.builtin'), nm('runc.ref')))],
  ];
  print();
  print('Issue 13: the ratios of its table, from this run (each command with a cleared environment)');
  print(table([['what', 'measured', 'must reach', 'goal'], ...rows]));
  print(table([['not slower elsewhere', 'measured'], ...also]));
}

results.machine.loadavgEnd = loadavg();
const file = join(resultsDir, 'latest.json');
writeFileSync(file, JSON.stringify({ ...results, table: out.join('\n') }, null, 2) + '\n');
print();
print(`results: ${file}   (command output log: ${log})`);
