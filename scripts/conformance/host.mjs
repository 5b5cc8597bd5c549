// Runs validation programs on the real host and leaves nothing behind: each program
// in its own process group, private mount + IPC namespace and scratch dir, killed
// (by process group) when it outlives its timeout; afterwards every container left
// in the runtime's state root is force-deleted and every cgroup the suite made is
// thawed, emptied and removed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
// The suite's fixed cgroup paths are /cgrouptest and testdir/cgrouptest/container.
const SUITE_CGROUP = 'cgrouptest';
// Parents a runtime makes on the way to a container's cgroup: removed when empty, never emptied.
const PARENT_CGROUP = new Set(['tsrun', 'testdir']);

/**
 * Runs one command in its own process group; kills the group when it outlives timeoutMs.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs: number }} opts
 * @returns {Promise<{ stdout: string, stderr: string, code: number | null, signal: string | null, timedOut: boolean, ms: number }>}
 */
export function runGroup(cmd, args, opts) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the program started in its group and left running goes with it. A
      // process outside the group that still holds our pipes must not hold us up.
      killGroup();
      const done = () => resolve({ stdout, stderr, code, signal, timedOut, ms: Date.now() - started });
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done();
      }, 2000);
      child.on('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
}

/** Every cgroup directory on the host (all hierarchies), as absolute paths. */
export function cgroupDirs() {
  const out = new Set();
  const walk = (dir) => {
    out.add(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const h of readdirSync(CGROUP_ROOT)) {
    const dir = join(CGROUP_ROOT, h);
    if (statSync(dir).isDirectory()) walk(dir);
  }
  return out;
}

/** The host's mount points (this process's mount namespace). */
export function mountPoints() {
  return new Set(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4]),
  );
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Removes the cgroups one program made since `baseline`, deepest first. Only a new cgroup
 * named by the suite's fixed path or by one of the container ids the program gave the
 * runtime is ours to empty: thawed, what is left in it killed, removed. New parents
 * (/tsrun, testdir) are only removed when empty, as another user's containers may be
 * in them.
 * @param {Set<string>} baseline
 * @param {Set<string>} ids
 * @returns {Promise<{ removed: string[], failed: string[] }>}
 */
export async function removeSuiteCgroups(baseline, ids) {
  const parts = (d) => d.slice(CGROUP_ROOT.length + 1).split('/').slice(1);
  const ours = (d) => parts(d).some((c) => c === SUITE_CGROUP || ids.has(c));
  const parent = (d) => PARENT_CGROUP.has(parts(d).at(-1) ?? '');
  const fresh = [...cgroupDirs()]
    .filter((d) => !baseline.has(d) && (ours(d) || parent(d)))
    .sort((a, b) => b.split('/').length - a.split('/').length);
  const removed = [];
  const failed = [];
  for (const dir of fresh) {
    if (!ours(dir)) {
      try {
        rmdirSync(dir);
        removed.push(dir);
      } catch {
        // not empty: not only ours
      }
      continue;
    }
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      try {
        if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED');
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        rmdirSync(dir);
        ok = true;
      } catch (err) {
        if (err.code === 'ENOENT') ok = true;
        else await sleep(100);
      }
    }
    (ok ? removed : failed).push(dir);
  }
  return { removed, failed };
}

/** The arguments of every runtime call the wrapper logged (container ids among them), then empties the log. */
export function takeRuntimeArgs(logFile) {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // no call yet
  }
  writeFileSync(logFile, '');
  return new Set(text.split(/\s+/).filter((a) => a && !a.startsWith('-')));
}

/**
 * Force-deletes every container left in the runtime's state root.
 * @param {string} runtime the wrapper (one executable that already has --root)
 * @param {string} stateRoot
 * @returns {Promise<{ removed: string[], failed: string[] }>}
 */
export async function removeLeftContainers(runtime, stateRoot) {
  const removed = [];
  const failed = [];
  for (const id of existsSync(stateRoot) ? readdirSync(stateRoot) : []) {
    const r = await runGroup(runtime, ['delete', '--force', id], { timeoutMs: 30_000 });
    if (existsSync(join(stateRoot, id))) {
      failed.push(`${id} (delete --force: ${r.timedOut ? 'timed out' : (r.stderr.trim() || `exit ${r.code}`)})`);
    } else {
      removed.push(id);
    }
  }
  return { removed, failed };
}

/** Removes a scratch dir unless something is still mounted inside it. */
export function removeScratch(dir) {
  const inside = [...mountPoints()].filter((m) => m === dir || m.startsWith(`${dir}/`));
  if (inside.length) return `still mounted: ${inside.join(', ')}`;
  rmSync(dir, { recursive: true, force: true });
  return null;
}
