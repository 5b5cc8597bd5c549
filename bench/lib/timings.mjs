import { existsSync, readFileSync } from 'node:fs';
import { median, round } from './stats.mjs';

// Breakdowns from TSRUN_TIMINGS (src/explain/timings.ts): each tsrun process
// appends one JSON line at exit with Node's start-up marks, tsrun's phase
// marks and its --explain events (kernel calls, hooks, CNI plugins, steps),
// each at a CLOCK_MONOTONIC time in ms: the same clock as this process's
// process.hrtime, so the bench's own spawn and exit times frame them.
// Each interval is charged to the mark or event that ends it (JavaScript work
// between two events included), grouped into the categories below.

const SYSCALL_GROUPS = [
  ['namespaces', ['unshare', 'setns']],
  ['mounts, pivot_root, devices', ['mount', 'umount2', 'pivot_root', 'pivotRoot', 'chroot', 'chdir', 'fchdir', 'mknod', 'statfs', 'symlink', 'mkdir']],
  ['process set-up (credentials, caps, rlimits, exec)', ['capset', 'capget', 'prctl', 'setresuid', 'setresgid', 'setgroups', 'setrlimit', 'getrlimit', 'execve', 'close_range', 'closeRange', 'fcntl', 'signal', 'sigprocmask', 'setsid', 'umask', 'sethostname', 'setdomainname', 'seccomp_load', 'posix_spawn', 'clone', 'clone3', 'waitpid']],
  ['console socket', ['socket', 'bind', 'listen', 'connect', 'accept', 'accept4', 'sendmsg', 'recvmsg', 'ioctl', 'dup3']],
  ['state files, locks, exec.fifo', ['open', 'close', 'flock', 'mkfifo', 'fchmodat', 'renameat']],
  ['kill', ['kill']],
];
const syscallGroup = new Map(SYSCALL_GROUPS.flatMap(([group, names]) => names.map((n) => [n, group])));

const MARKS = {
  main: 'load dist/tsrun.cjs (the main module)',
  'command loaded': "load the command's modules",
  'syscalls ready': 'syscalls ready',
  'koffi loaded': 'load koffi (first FFI call)',
  'spec modules loaded': 'load the spec modules (zod/mini)',
  'spec validated': 'read and validate config.json',
  'container exited': 'the container runs: start → exit',
};

function category(kind, what) {
  if (kind === 'mark') return MARKS[what] ?? what;
  if (kind === 'syscall') {
    // File calls go where their path says: the cgroup tree, or the state directory.
    if (what.includes('"/sys/fs/cgroup/') || what.includes(' </sys/fs/cgroup/')) return 'cgroups';
    if (/(state\.json|\.tmp-\d+|exec\.fifo|\.lock)\b/.test(what)) return 'syscalls: state files, locks, exec.fifo';
    const name = /^(\w+)\(/.exec(what)?.[1] ?? what;
    return `syscalls: ${syscallGroup.get(name) ?? 'other'}`;
  }
  if (kind === 'step') {
    if (what.startsWith('cgroup')) return 'cgroups';
    if (what.startsWith('spawn')) return 'spawn the init';
    return `step: ${what.split(/[ (:]/)[0]}`;
  }
  if (kind === 'hook') return `hooks: ${what.split(' hook:')[0]}`;
  if (kind === 'cni') {
    const [type, command] = what.split(' ');
    return `CNI plugin ${type} ${command}`;
  }
  return kind;
}

/** `delete --force`, `run --net`, `state`: the command and the flags that change what it does. */
function commandOf(argv) {
  const rest = [...argv];
  while (rest[0]?.startsWith('--') && ['--root', '--log', '--log-format'].includes(rest[0])) rest.splice(0, 2);
  const [name, ...args] = rest;
  const flags = args.filter((a) => a === '--force' || a === '--net');
  return [name, ...flags].join(' ');
}

/**
 * Reads the lines of a TSRUN_TIMINGS file written by one command the bench ran
 * between t0 and t1 (its hrtime, ms); returns one breakdown per line: [category, ms][].
 */
export function readTimings(file, t0, t1) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const text of readFileSync(file, 'utf8').trim().split('\n')) {
    if (!text) continue;
    const l = JSON.parse(text);
    const rows = [];
    let prev = t0;
    const charge = (label, t) => {
      rows.push([label, t - prev]);
      prev = t;
    };
    charge('exec + Node start (before Node\'s clock)', l.node.origin);
    charge('Node bootstrap', l.node.bootstrapComplete);
    let teardown = false;
    for (const [t, kind, what] of l.entries) {
      const c = category(kind, what);
      charge(teardown ? `teardown: ${c}` : c, t);
      if (kind === 'mark' && what === 'container exited') teardown = true;
    }
    charge('exit handlers', l.exit);
    charge('process exit, reaped by the caller', t1);
    out.push({ command: commandOf(l.argv), rows });
  }
  return out;
}

/** Median ms per category over many breakdowns, categories in first-seen order; with the median total. */
export function summarizeBreakdowns(breakdowns) {
  const order = [...new Set(breakdowns.flatMap((b) => b.rows.map(([label]) => label)))];
  const sums = breakdowns.map((b) => {
    const m = new Map();
    for (const [label, ms] of b.rows) m.set(label, (m.get(label) ?? 0) + ms);
    return m;
  });
  const totals = breakdowns.map((b) => b.rows.reduce((n, [, ms]) => n + ms, 0));
  return { n: breakdowns.length, totalMs: round(median(totals)), rows: order.map((label) => ({ label, medianMs: round(median(sums.map((m) => m.get(label) ?? 0))) })) };
}

/** The columns of the per-command table: where each part comes from. */
const COLUMNS = [
  ['Node boot', ["exec + Node start (before Node's clock)", 'Node bootstrap']],
  ['tsrun.cjs', [MARKS.main]],
  ['command modules', [MARKS['command loaded'], MARKS['syscalls ready']]],
  ['koffi', [MARKS['koffi loaded']]],
  ['spec (zod/mini)', [MARKS['spec modules loaded'], MARKS['spec validated']]],
  ['exit', ['exit handlers', 'process exit, reaped by the caller']],
];

/** Per command (median over its runs): total and the start-up columns; `work` is the rest. */
export function perCommand(breakdowns) {
  const by = new Map();
  for (const b of breakdowns) (by.get(b.command) ?? by.set(b.command, []).get(b.command)).push(b);
  return [...by].map(([command, list]) => {
    const s = summarizeBreakdowns(list);
    const ms = (labels) => s.rows.filter((r) => labels.includes(r.label)).reduce((n, r) => n + r.medianMs, 0);
    const cols = Object.fromEntries(COLUMNS.map(([name, labels]) => [name, round(ms(labels))]));
    const known = Object.values(cols).reduce((a, b) => a + b, 0);
    return { command, n: s.n, totalMs: s.totalMs, ...cols, work: round(s.totalMs - known) };
  });
}

export const PER_COMMAND_COLUMNS = [...COLUMNS.map(([name]) => name), 'work'];
