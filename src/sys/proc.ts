import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

// Facts about processes read from /proc. A pid alone is not an identity (pids
// are reused), so tsrun always pairs it with the process start time.

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: string;
}

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parens: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0]!, ppid: Number(rest[1]), startTime: rest[19]! };
}

/** True when `pid` is the same live (non-zombie) process that started at `startTime`. */
export function isAlive(pid: number, startTime?: string): boolean {
  if (pid <= 0) return false;
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

export function nsInode(pid: number | 'self', ns: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
}

/** Every pid on the host whose pid namespace is `nsLink` (e.g. "pid:[4026532]"). */
export function pidsInPidNamespace(nsLink: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (nsInode(Number(name), 'pid') === nsLink) out.push(Number(name));
  }
  return out.sort((a, b) => a - b);
}

/** Soft and hard RLIMIT_NOFILE of a process (Node raised ours, so ask the caller's). */
export function readNofile(pid: number): { soft: string; hard: string } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? { soft: m[1]!, hard: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until the process is gone or a zombie. */
export async function waitGone(pid: number, startTime?: string): Promise<void> {
  for (let delay = 1; isAlive(pid, startTime); delay = Math.min(delay * 2, 50)) await sleep(delay);
}
