import { readOptional } from './files.js';
import { readdirSync } from 'node:fs';

// The `data` of a stats event, in the shape runc's `events` prints, so tools
// that read runc's JSON read tsrun's: cpu, cpuset, memory, pids, blkio,
// hugetlb, intel_rdt, network_interfaces. Counters are bigint: v1 reports
// "unlimited" as 2^63 - 4096 and byte counters may pass 2^53.

type N = bigint;
export interface MemoryEntry { limit: N; usage?: N; max?: N; failcnt: N }
export interface BlkioEntry { major: N; minor: N; op: string; value: N }
export interface RuncStats {
  cpu: { usage: { total: N; percpu?: N[]; percpu_kernel?: N[]; percpu_user?: N[]; kernel: N; user: N }; throttling: { periods?: N; throttled_periods?: N; throttled_time?: N } };
  cpuset?: Record<string, unknown>;
  memory: { cache?: N; usage: MemoryEntry; swap?: MemoryEntry; kernel?: MemoryEntry; kernelTCP?: MemoryEntry; raw?: Record<string, N> };
  pids: { current?: N; limit?: N };
  blkio: Record<string, BlkioEntry[]>;
  hugetlb: Record<string, { usage?: N; max?: N; failcnt: N }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const big = (text: string | undefined): N | undefined => (text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined);
const list = (text: string | undefined): N[] | undefined => text?.split(/\s+/).filter(Boolean).map((v) => BigInt(v));

/** "a 1\nb 2" → { a: 1n, b: 2n } */
export function flatKeyed(text: string | undefined): Record<string, N> {
  const out: Record<string, N> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = BigInt(v);
  }
  return out;
}

/** "0-2,5" → [0, 1, 2, 5] */
export function cpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a)!; i++) out.push(i);
  }
  return out;
}

function entry(dir: string, prefix: string): MemoryEntry | undefined {
  const limit = big(readOptional(dir, `${prefix}.limit_in_bytes`));
  if (limit === undefined) return undefined;
  const usage = big(readOptional(dir, `${prefix}.usage_in_bytes`)) ?? 0n;
  const max = big(readOptional(dir, `${prefix}.max_usage_in_bytes`)) ?? 0n;
  return { limit, ...(usage ? { usage } : {}), ...(max ? { max } : {}), failcnt: big(readOptional(dir, `${prefix}.failcnt`)) ?? 0n };
}

/** "8:0 Read 4096" lines ("Total N" left out) */
export function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: BigInt(m[1]!), minor: BigInt(m[2]!), op: m[3]!, value: BigInt(m[4]!) });
  }
  return out;
}

const TICK_NS = 10_000_000n; // USER_HZ is 100 on Linux

function v1(paths: Record<string, string>): RuncStats {
  const cpuacct = paths.cpuacct ?? '';
  const ticks = flatKeyed(readOptional(cpuacct, 'cpuacct.stat'));
  const thr = flatKeyed(readOptional(paths.cpu ?? '', 'cpu.stat'));
  const throttling = Object.fromEntries(
    ([['periods', 'nr_periods'], ['throttled_periods', 'nr_throttled'], ['throttled_time', 'throttled_time']] as const).filter(([, f]) => thr[f]).map(([k, f]) => [k, thr[f]]),
  );
  const mem = paths.memory ?? '';
  const raw = flatKeyed(readOptional(mem, 'memory.stat'));
  const pidsMax = readOptional(paths.pids ?? '', 'pids.max');
  const hugetlb: RuncStats['hugetlb'] = {};
  for (const f of safeList(paths.hugetlb)) {
    const size = /^hugetlb\.(\w+)\.usage_in_bytes$/.exec(f)?.[1];
    if (!size) continue;
    const usage = big(readOptional(paths.hugetlb!, f)) ?? 0n;
    const max = big(readOptional(paths.hugetlb!, `hugetlb.${size}.max_usage_in_bytes`)) ?? 0n;
    hugetlb[size] = { ...(usage ? { usage } : {}), ...(max ? { max } : {}), failcnt: big(readOptional(paths.hugetlb!, `hugetlb.${size}.failcnt`)) ?? 0n };
  }
  const blkio: RuncStats['blkio'] = {};
  for (const [key, file] of [['ioServiceBytesRecursive', 'blkio.throttle.io_service_bytes_recursive'], ['ioServicedRecursive', 'blkio.throttle.io_serviced_recursive']]) {
    const e = blkioEntries(readOptional(paths.blkio ?? '', file!));
    if (e.length) blkio[key!] = e;
  }
  const cs = paths.cpuset;
  const cpuset = cs === undefined ? undefined : {
    cpus: cpuList(readOptional(cs, 'cpuset.effective_cpus') || readOptional(cs, 'cpuset.cpus')),
    mems: cpuList(readOptional(cs, 'cpuset.effective_mems') || readOptional(cs, 'cpuset.mems')),
    ...Object.fromEntries(['cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page', 'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level'].map((k) => [k, Number(readOptional(cs, `cpuset.${k}`) ?? 0)])),
  };
  return {
    cpu: {
      usage: {
        total: big(readOptional(cpuacct, 'cpuacct.usage')) ?? 0n,
        percpu: list(readOptional(cpuacct, 'cpuacct.usage_percpu')),
        percpu_kernel: list(readOptional(cpuacct, 'cpuacct.usage_percpu_sys')),
        percpu_user: list(readOptional(cpuacct, 'cpuacct.usage_percpu_user')),
        kernel: (ticks.system ?? 0n) * TICK_NS,
        user: (ticks.user ?? 0n) * TICK_NS,
      },
      throttling,
    },
    ...(cpuset ? { cpuset } : {}),
    memory: {
      ...(raw.cache ? { cache: raw.cache } : {}),
      usage: entry(mem, 'memory') ?? { limit: 0n, failcnt: 0n },
      swap: entry(mem, 'memory.memsw'),
      kernel: entry(mem, 'memory.kmem'),
      kernelTCP: entry(mem, 'memory.kmem.tcp'),
      raw,
    },
    pids: { current: big(readOptional(paths.pids ?? '', 'pids.current')), ...(pidsMax && pidsMax !== 'max' ? { limit: BigInt(pidsMax) } : {}) },
    blkio,
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

function safeList(dir: string | undefined): string[] {
  if (dir === undefined) return [];
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function v2(dir: string): RuncStats {
  const cpu = flatKeyed(readOptional(dir, 'cpu.stat'));
  const raw = flatKeyed(readOptional(dir, 'memory.stat'));
  const limit = (file: string): N => {
    const t = readOptional(dir, file);
    return t === 'max' || t === undefined ? 2n ** 64n - 1n : BigInt(t);
  };
  const pidsMax = readOptional(dir, 'pids.max');
  const usage = big(readOptional(dir, 'memory.current')) ?? 0n;
  const swapUsage = big(readOptional(dir, 'memory.swap.current'));
  const throttling = Object.fromEntries(
    ([['periods', 'nr_periods'], ['throttled_periods', 'nr_throttled']] as const).filter(([, f]) => cpu[f]).map(([k, f]) => [k, cpu[f]]),
  );
  if (cpu.throttled_usec) Object.assign(throttling, { throttled_time: cpu.throttled_usec * 1000n });
  return {
    cpu: { usage: { total: (cpu.usage_usec ?? 0n) * 1000n, kernel: (cpu.system_usec ?? 0n) * 1000n, user: (cpu.user_usec ?? 0n) * 1000n }, throttling },
    memory: {
      ...(raw.file ? { cache: raw.file } : {}),
      usage: { limit: limit('memory.max'), ...(usage ? { usage } : {}), failcnt: 0n },
      ...(swapUsage !== undefined ? { swap: { limit: limit('memory.swap.max'), ...(swapUsage ? { usage: swapUsage } : {}), failcnt: 0n } } : {}),
      raw,
    },
    pids: { current: big(readOptional(dir, 'pids.current')), ...(pidsMax && pidsMax !== 'max' ? { limit: BigInt(pidsMax) } : {}) },
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

export function runcStats(paths: Record<string, string>): RuncStats {
  return paths[''] !== undefined ? v2(paths['']) : v1(paths);
}

/** OOM kills so far: v1 memory.oom_control's oom_kill (4.13+), v2 memory.events' oom_kill. */
export function oomKills(paths: Record<string, string>): bigint | undefined {
  if (paths[''] !== undefined) return flatKeyed(readOptional(paths[''], 'memory.events')).oom_kill;
  if (paths.memory === undefined) return undefined;
  return flatKeyed(readOptional(paths.memory, 'memory.oom_control')).oom_kill;
}

/** JSON with bigints written as plain numbers (JSON.stringify refuses them). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(\d+)"/g, '$1');
}
