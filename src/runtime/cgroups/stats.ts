import { readOptional } from './files.js';

// Resource usage for `tsrun events --stats`. Limits of "unlimited" read as -1 on both
// versions (v2 says "max"; v1 says a huge page-rounded number near 2^63).

export interface CgroupStats {
  memory?: { usage: number; limit: number };
  pids?: { current: number; limit?: number };
  cpu?: { usageNs: number };
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return -1;
  const n = Number(text);
  if (!Number.isFinite(n)) return undefined;
  return n >= 2 ** 62 ? -1 : n;
}

export function readStats(paths: Record<string, string>): CgroupStats {
  const out: CgroupStats = {};
  const v2 = paths[''];
  const memDir = v2 ?? paths.memory;
  if (memDir !== undefined) {
    const usage = num(readOptional(memDir, v2 ? 'memory.current' : 'memory.usage_in_bytes'));
    const limit = num(readOptional(memDir, v2 ? 'memory.max' : 'memory.limit_in_bytes'));
    if (usage !== undefined && limit !== undefined) out.memory = { usage, limit };
  }
  const pidsDir = v2 ?? paths.pids;
  if (pidsDir !== undefined) {
    const current = num(readOptional(pidsDir, 'pids.current'));
    const limit = num(readOptional(pidsDir, 'pids.max'));
    if (current !== undefined) out.pids = limit === undefined || limit === -1 ? { current } : { current, limit };
  }
  if (v2 !== undefined) {
    const usec = /^usage_usec (\d+)$/m.exec(readOptional(v2, 'cpu.stat') ?? '')?.[1];
    if (usec !== undefined) out.cpu = { usageNs: Number(usec) * 1000 };
  } else if (paths.cpuacct !== undefined) {
    const ns = num(readOptional(paths.cpuacct, 'cpuacct.usage'));
    if (ns !== undefined) out.cpu = { usageNs: ns };
  }
  return out;
}
