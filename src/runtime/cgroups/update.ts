import { TsrunError } from '../../errors.js';
import type { Syscalls } from '../../sys/syscalls.js';
import type { LinuxResources } from '../../spec/types.js';
import { applyWrite, readOptional, type CgroupPlan, type CgroupWrite } from './files.js';
import type { CgroupMode } from './layout.js';
import { v1Plan } from './v1.js';
import { v2Plan } from './v2.js';

// `tsrun update`: new limits for a live cgroup. Only the fields given are
// written, so everything else (the device rules above all) stays as create
// left it. Two things differ from a fresh cgroup, where create() can assume
// every limit is "unlimited":
// - a swap limit without a memory limit takes the current memory limit;
// - on v2 cpu.max holds quota and period together, so a period alone keeps
//   the current quota (and a quota alone keeps the period, as the kernel does).
// v1's memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes,
// so the order depends on the old values: a write the kernel refuses with
// EINVAL is tried again once after the others.

export function modeOf(paths: Record<string, string>): CgroupMode {
  if (paths[''] !== undefined) return 'v2';
  return paths.unified !== undefined ? 'hybrid' : 'v1';
}

/** v1 reports "no limit" as a huge page-rounded number, v2 as "max": both read as -1. */
function limitOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return -1;
  const n = Number(text);
  return n >= 2 ** 62 ? -1 : n;
}

/** The delta with what its writes need from the cgroup's current values. */
export function completeUpdate(mode: CgroupMode, paths: Record<string, string>, delta: LinuxResources): LinuxResources {
  const out: LinuxResources = { ...delta };
  const mem = delta.memory;
  if (mem?.swap !== undefined && mem.swap > 0 && (mem.limit === undefined || mem.limit === 0)) {
    const current = mode === 'v2' ? undefined : limitOf(readOptional(paths.memory ?? '', 'memory.limit_in_bytes'));
    const v2Max = mode === 'v2' ? limitOf(readOptional(paths[''], 'memory.max')) : undefined;
    const limit = current ?? v2Max;
    if (limit !== undefined && limit > 0) out.memory = { ...mem, limit };
  }
  const cpu = delta.cpu;
  if (mode === 'v2' && cpu?.period && (cpu.quota === undefined || cpu.quota === 0)) {
    const quota = readOptional(paths[''], 'cpu.max')?.split(' ')[0];
    out.cpu = { ...cpu, quota: quota === undefined || quota === 'max' ? -1 : Number(quota) };
  }
  return out;
}

export function updatePlan(mode: CgroupMode, delta: LinuxResources): CgroupPlan {
  const plan = mode === 'v2' ? v2Plan(delta) : v1Plan(delta);
  // pids 0 means "leave as is" for update (create writes "max" for it).
  return { writes: plan.writes.filter((w) => !(w.file === 'pids.max' && delta.pids?.limit === 0)), skipped: plan.skipped };
}

/** Applies the writes; a refused (EINVAL) write is retried once after the rest, for ordering constraints. */
export function applyUpdate(sys: Syscalls, paths: Record<string, string>, writes: CgroupWrite[]): void {
  const retry: { w: CgroupWrite; err: unknown }[] = [];
  const dirOf = (w: CgroupWrite): string => {
    const dir = paths[w.controller];
    if (dir === undefined) throw new TsrunError('NOT_SUPPORTED', `${w.jsonPath}: this container has no ${w.controller || 'cgroup2'} cgroup`, { jsonPath: w.jsonPath });
    return dir;
  };
  for (const w of writes) {
    try {
      applyWrite(sys, dirOf(w), w);
    } catch (err) {
      if (err instanceof TsrunError && err.errno === 'EINVAL') retry.push({ w, err });
      else throw err;
    }
  }
  for (const { w } of retry) applyWrite(sys, dirOf(w), w);
}
