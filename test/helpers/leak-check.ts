import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

// What a test file's containers may leave behind, attributed to that file only.
// Every CLI run by test/helpers/bundle.ts starts in a session of its own
// (detached), and the init, the container process and hooks inherit that
// session, so "processes in one of our sessions" are exactly ours even while
// other files run containers in parallel.

/** This file's sessions: the leader's pid (the session id) and the leader's start time. */
const sessions = new Map<number, number>();

/** Remembers a CLI pid started with `detached: true` (its pid is its session id). */
export function trackSession(pid: number | undefined): void {
  const st = pid ? stat(pid) : undefined;
  if (pid) sessions.set(pid, st?.start ?? 0);
}

/**
 * Is `sid` one of this file's sessions? A session's number is taken while
 * anything is in it, but once it is empty another file's CLI may get it (pids
 * wrap within a suite run here): a live leader that started at another time
 * is that CLI, not ours.
 */
function ours(sid: number): boolean {
  const start = sessions.get(sid);
  if (start === undefined) return false;
  const leader = stat(sid);
  return !leader || leader.start === start;
}

function stat(pid: number): { sid: number; state: string; start: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, sid: Number(rest[3]), start: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Live (non-zombie) processes in the sessions this file started, excluding CLIs still running. */
export function leakedProcesses(exclude: number[] = []): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const st = stat(pid);
    if (!st || st.state === 'Z' || !ours(st.sid) || exclude.includes(pid)) continue;
    out.push({ pid, cmdline: cmdline(pid) });
  }
  return out;
}

/** Every live process on the host that is a container's process before execve: the C stage or the Node init (for diagnostics). */
export function initProcesses(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && /\binit-main\.js\b|\/dist\/(runtime\/process\/)?stage\b/.test(cmdline(Number(n))))
    .map(Number)
    .filter((pid) => stat(pid)?.state !== 'Z');
}

/** Mount points in this (the host's) mount namespace at or under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

/** Cgroup directories left for containers `ids` (tsrun's default cgroupsPath /tsrun/<id>, in every hierarchy). */
export function cgroupsOf(ids: Iterable<string>, base = '/sys/fs/cgroup'): string[] {
  let hierarchies: string[];
  try {
    hierarchies = ['', ...readdirSync(base).map((h) => `/${h}`)];
  } catch {
    return [];
  }
  const left: string[] = [];
  for (const id of ids) for (const h of hierarchies) if (existsSync(`${base}${h}/tsrun/${id}`)) left.push(`${base}${h}/tsrun/${id}`);
  return left;
}

/** Entries left in a state root. */
export function stateEntries(root: string): string[] {
  try {
    return readdirSync(root);
  } catch {
    return [];
  }
}

/** Owner, group, mode and rdev of a device node, to compare before and after. */
export function nodeIdentity(path: string): string {
  const st = statSync(path);
  return `${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.rdev}`;
}

/** The pid namespace link of a process, or undefined once it is gone. */
export function pidNs(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** One summary the afterAll hooks assert is empty. */
export function leaks(o: { root: string; dirs: string[]; ids?: Iterable<string> }): string[] {
  const found: string[] = [];
  for (const c of cgroupsOf(o.ids ?? [])) found.push(`cgroup ${c}`);
  for (const e of stateEntries(o.root)) found.push(`state entry ${o.root}/${e}`);
  for (const p of leakedProcesses()) found.push(`process ${p.pid} (${p.cmdline})`);
  for (const d of o.dirs) for (const m of mountsUnder(d)) found.push(`mount ${m}`);
  return found;
}

/** Kills, by pid, whatever processes this file's sessions still have (cleanup after a failed test). */
export function killLeftovers(): void {
  for (const p of leakedProcesses()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
