import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmSync } from 'node:fs';

// Shared by the network benches (cni.mjs, plugins.mjs, netrun.mjs): the private "host"
// netns everything runs in, the child that measures inside it, and the check
// that the machine's own firewall (iptables-save: filter and nat, v4 and v6)
// is the same after the bench as before.

import { ENV } from './proc.mjs';

export { ENV };

export function sh(cmd, args, allowFail = false, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}

/** iptables-save of the machine's own netns, filter and nat, v4 and v6, without comments and counters. */
export function hostFirewall() {
  const out = [];
  for (const bin of ['iptables-save', 'ip6tables-save']) {
    for (const t of ['filter', 'nat']) {
      const text = sh(bin, ['-t', t], true)
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
      out.push(...text.map((l) => `${bin} ${t}: ${l}`));
    }
  }
  return out;
}

/**
 * Compares the host firewall to `before`; prints a warning for lines that name
 * the bench's objects, a note for other changes (other work on a shared machine).
 * Returns { identical, ours, others }.
 */
export function checkHostFirewall(label, before, ours) {
  const after = hostFirewall();
  const a = new Set(after);
  const b = new Set(before);
  const diff = after.filter((l) => !b.has(l)).map((l) => `+ ${l}`).concat(before.filter((l) => !a.has(l)).map((l) => `- ${l}`));
  const mine = diff.filter(ours);
  if (mine.length) process.stderr.write(`${label}: WARNING: host iptables changed by the bench:\n${mine.join('\n')}\n`);
  else if (diff.length) process.stderr.write(`${label}: note: host iptables changed during the bench, none of it ours (other work on the machine)\n`);
  return { identical: diff.length === 0, ours: mine.length, others: diff.length - mine.length };
}

/** Names under /run/netns that start with prefix. */
export const netnsHandles = (prefix) => (existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : []);

/**
 * Runs `node script JSON(params)` as a child (async, so the caller's signal
 * handlers can kill it), wrapped by `wrap` (e.g. ip netns exec / nsenter);
 * stdout to the log, stderr inherited for progress lines.
 */
export async function runChild(wrap, script, params, log, onCleanup) {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(wrap[0], [...wrap.slice(1), process.execPath, script, JSON.stringify(params)], { stdio: ['ignore', fd, 'inherit'], env: ENV });
    onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, true);
    const [code, signal] = await new Promise((res, rej) => {
      child.once('error', rej);
      child.once('exit', (c, s) => res([c, s]));
    });
    if (code !== 0) throw new Error(`${script} failed (exit ${code ?? signal}); see ${log}`);
  } finally {
    closeSync(fd);
  }
}

export const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** An idempotent clean-up: the container netns, the private "host" netns, the temp dir. */
export function netnsCleanup(netnses, hostNs, tmp) {
  let cleaned = false;
  return () => {
    if (cleaned) return;
    cleaned = true;
    for (const ns of netnses) sh('ip', ['netns', 'del', ns], true);
    sh('ip', ['netns', 'del', hostNs], true);
    rmSync(tmp, { recursive: true, force: true });
  };
}
