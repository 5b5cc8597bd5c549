import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Running commands for the benchmarks. Wall time is measured around
// spawnSync (fork + exec + wait, the same for every command measured); stdio
// goes to a log file, never to a pipe: spawnSync waits for pipes to close,
// and a container init left behind by `create` holds them open.

/**
 * The environment of every measured command, as `env -i PATH=…`: the caller's
 * (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, …) would change what a Node boot costs.
 */
export const ENV = Object.freeze({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' });

export class Runner {
  constructor(logFile) {
    this.logFile = logFile;
    this.fd = openSync(logFile, 'a');
  }

  close() {
    closeSync(this.fd);
  }

  /** Runs cmd once; returns wall ms. Throws with the log's tail on a non-zero exit. */
  time(cmd, args, opts = {}) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', this.fd, this.fd], env: opts.env ?? ENV, cwd: opts.cwd });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) throw r.error;
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}\n${this.tail()}`);
    return ms;
  }

  /**
   * Peak RSS in KiB of cmd by /usr/bin/time -f %M (wait4's ru_maxrss: the
   * process's own peak, or a child's it reaped if larger).
   */
  peakRss(cmd, args, opts = {}) {
    return this.usage(cmd, args, opts).rssKb;
  }

  /** Peak RSS (KiB) and CPU time (user+sys ms, reaped children included) of one run, by GNU time. */
  usage(cmd, args, opts = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'tsbench-rss-'));
    try {
      const out = join(dir, 'rss');
      const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', out, cmd, ...args], { stdio: ['ignore', this.fd, this.fd], env: opts.env ?? ENV });
      if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${this.tail()}`);
      const [rss, user, sys] = readFileSync(out, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
      return { rssKb: rss, cpuMs: Math.round((user + sys) * 1000) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  tail() {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '';
    }
  }
}

/** VmHWM (peak resident set, KiB) of a live process, from /proc/<pid>/status. */
export function vmHwm(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Waits (polling /proc) until pid is gone or a zombie; returns false on timeout. */
export function waitGone(pid, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!existsSync(`/proc/${pid}`)) return true;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') return true;
    } catch {
      return true;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
  return false;
}

/** Busy-free sleep. */
export function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
