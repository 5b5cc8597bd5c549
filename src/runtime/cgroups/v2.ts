import { TsrunError } from '../../errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { CgroupPlan, CgroupWrite, Skipped } from './files.js';

// linux.resources → cgroup v2 control files, as an ordered list of writes. Pure, like v1Plan.
//
// Not applied on v2, on purpose (reported in `skipped` so the runtime can warn):
// - devices: cgroup v2 has no devices.* files; access control needs an eBPF program
//   (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup. tsrun does not load one, and
//   writing nothing is better than pretending: the container sees the devices its
//   mount namespace and rootfs give it (tsrun only creates the allowed device nodes).
// - memory.swappiness, memory.disableOOMKiller, memory.kernel*, cpu.realtime*,
//   blockIO.leafWeight, network: the v2 kernel interface has no such knobs.

const R = 'linux.resources';

/** OCI cpu shares [2, 262144] → cpu.weight [1, 10000]; 1024 → 100. The curve current runc and crun use. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** blkio weight [10, 1000] → io.weight [1, 10000], runc's linear map. */
export function blkioWeightToIoWeight(weight: number): number {
  return weight === 0 ? 0 : 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** OCI memory.swap is memory+swap; memory.swap.max is swap alone (runc's rules). undefined = leave unset. */
export function swapMax(swap: number | undefined, limit: number | undefined): number | undefined {
  if (limit === -1 && (swap === undefined || swap === 0)) return -1;
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return -1;
  const jsonPath = `${R}.memory.swap`;
  if (limit === undefined || limit <= 0) throw new TsrunError('SPEC_INVALID', `${jsonPath}: a swap limit needs a memory limit`, { jsonPath });
  if (swap < limit) {
    throw new TsrunError('SPEC_INVALID', `${jsonPath}: memory+swap (${swap}) must be at least memory.limit (${limit})`, { jsonPath });
  }
  return swap - limit;
}

const max = (n: number) => (n === -1 ? 'max' : String(n));

/** "c 1:3 rwm" from an OCI device rule; -1 or a missing number is "*". */
export function deviceRule(rule: { type?: string; major?: number; minor?: number; access?: string }, jsonPath: string): string {
  const num = (n: number | undefined, field: string) => {
    if (n === undefined || n === -1) return '*';
    if (n < 0) throw new TsrunError('SPEC_INVALID', `${jsonPath}.${field}: expected -1 or a device number, got ${n}`, { jsonPath: `${jsonPath}.${field}` });
    return String(n);
  };
  return `${rule.type ?? 'a'} ${num(rule.major, 'major')}:${num(rule.minor, 'minor')} ${rule.access || 'rwm'}`;
}

/** linux.resources.unified: file names written as given, into the cgroup2 directory `controller`. */
export function unifiedWrites(unified: Record<string, string> | undefined, controller: string): CgroupWrite[] {
  return Object.entries(unified ?? {}).map(([key, value]) => {
    const jsonPath = `${R}.unified[${JSON.stringify(key)}]`;
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$/.test(key) || key.includes('..')) {
      throw new TsrunError('SPEC_INVALID', `${jsonPath}: expected a cgroup2 file name such as "memory.high", got ${JSON.stringify(key)}`, { jsonPath });
    }
    return { controller, file: key, value, jsonPath };
  });
}

/** "mlx4_0 hca_handle=2 hca_object=2000", the same in v1 and v2. */
export function rdmaValue(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string | undefined {
  const parts = [dev];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  return parts.length > 1 ? parts.join(' ') : undefined;
}

function memory(m: NonNullable<LinuxResources['memory']>, w: CgroupWrite[], skipped: Skipped[]): void {
  const put = (file: string, value: string, field: string, optional = false) =>
    w.push({ controller: '', file, value, jsonPath: `${R}.memory.${field}`, ...(optional ? { optional } : {}) });
  const swap = swapMax(m.swap, m.limit);
  // "max" for swap is a fresh cgroup's state: fine on hosts without swap accounting.
  if (swap !== undefined) put('memory.swap.max', max(swap), m.swap ? 'swap' : 'limit', swap === -1);
  if (m.limit !== undefined && m.limit !== 0) put('memory.max', max(m.limit), 'limit');
  if (m.reservation !== undefined && m.reservation !== 0) put('memory.low', max(m.reservation), 'reservation');
  for (const field of ['swappiness', 'disableOOMKiller', 'kernel', 'kernelTCP'] as const) {
    if (m[field] !== undefined && m[field] !== false) {
      skipped.push({ jsonPath: `${R}.memory.${field}`, reason: 'cgroup v2 has no such memory setting' });
    }
  }
}

function cpu(c: NonNullable<LinuxResources['cpu']>, w: CgroupWrite[], skipped: Skipped[]): void {
  const put = (file: string, value: string, field: string) => w.push({ controller: '', file, value, jsonPath: `${R}.cpu.${field}` });
  if (c.shares) put('cpu.weight', String(cpuSharesToWeight(c.shares)), 'shares');
  if ((c.quota !== undefined && c.quota !== 0) || c.period) {
    const quota = c.quota !== undefined && c.quota > 0 ? String(c.quota) : 'max';
    put('cpu.max', c.period ? `${quota} ${c.period}` : quota, c.quota ? 'quota' : 'period');
  }
  if (c.burst !== undefined) put('cpu.max.burst', String(c.burst), 'burst');
  if (c.idle !== undefined) put('cpu.idle', String(c.idle), 'idle');
  if (c.cpus) put('cpuset.cpus', c.cpus, 'cpus');
  if (c.mems) put('cpuset.mems', c.mems, 'mems');
  for (const field of ['realtimeRuntime', 'realtimePeriod'] as const) {
    if (c[field]) skipped.push({ jsonPath: `${R}.cpu.${field}`, reason: 'cgroup v2 has no real-time CPU budget' });
  }
}

function blockIO(b: NonNullable<LinuxResources['blockIO']>, w: CgroupWrite[], skipped: Skipped[]): void {
  const put = (file: string, value: string, field: string, fallback?: CgroupWrite['fallback']) =>
    w.push({ controller: '', file, value, jsonPath: `${R}.blockIO.${field}`, ...(fallback ? { fallback } : {}) });
  // BFQ takes the blkio weight as is; without BFQ io.weight takes the converted one.
  if (b.weight) put('io.bfq.weight', String(b.weight), 'weight', { file: 'io.weight', value: `default ${blkioWeightToIoWeight(b.weight)}` });
  (b.weightDevice ?? []).forEach((d, i) => {
    if (!d.weight) return;
    const dev = `${d.major}:${d.minor}`;
    put('io.bfq.weight', `${dev} ${d.weight}`, `weightDevice[${i}].weight`, { file: 'io.weight', value: `${dev} ${blkioWeightToIoWeight(d.weight)}` });
  });
  if (b.leafWeight || (b.weightDevice ?? []).some((d) => d.leafWeight)) {
    skipped.push({ jsonPath: `${R}.blockIO.leafWeight`, reason: 'cgroup v2 has no leaf weights' });
  }
  const throttles = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [field, key] of throttles) {
    (b[field] ?? []).forEach((d, i) => put('io.max', `${d.major}:${d.minor} ${key}=${d.rate}`, `${field}[${i}]`));
  }
}

export function v2Plan(r: LinuxResources | undefined): CgroupPlan {
  const writes: CgroupWrite[] = [];
  const skipped: Skipped[] = [];
  if (!r) return { writes, skipped };
  if (r.memory) memory(r.memory, writes, skipped);
  if (r.cpu) cpu(r.cpu, writes, skipped);
  if (r.pids) writes.push({ controller: '', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max', jsonPath: `${R}.pids.limit` });
  if (r.devices && r.devices.length > 0) {
    skipped.push({ jsonPath: `${R}.devices`, reason: 'cgroup v2 device rules need an eBPF program, which tsrun does not load' });
  }
  if (r.blockIO) blockIO(r.blockIO, writes, skipped);
  (r.hugepageLimits ?? []).forEach((h, i) =>
    writes.push({ controller: '', file: `hugetlb.${h.pageSize}.max`, value: String(h.limit), jsonPath: `${R}.hugepageLimits[${i}]` }),
  );
  if (r.network && (r.network.classID !== undefined || (r.network.priorities ?? []).length > 0)) {
    skipped.push({ jsonPath: `${R}.network`, reason: 'cgroup v2 has no net_cls/net_prio controllers' });
  }
  for (const [dev, limits] of Object.entries(r.rdma ?? {})) {
    const value = rdmaValue(dev, limits);
    if (value) writes.push({ controller: '', file: 'rdma.max', value, jsonPath: `${R}.rdma.${dev}` });
  }
  // Last, so a unified key overrides the same file set from a typed field.
  writes.push(...unifiedWrites(r.unified, ''));
  return { writes, skipped };
}
