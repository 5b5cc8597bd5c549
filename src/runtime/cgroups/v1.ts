import { TsrunError } from '../../errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { CgroupPlan, CgroupWrite, Skipped } from './files.js';
import { deviceRule, rdmaValue, unifiedWrites } from './v2.js';

// linux.resources → cgroup v1 control files, as an ordered list of writes.
// Pure: no file system access, so the mapping is checked by tables in the unit tests.
// It assumes a freshly made cgroup (create), where every limit is still "unlimited".

const R = 'linux.resources';

function memory(m: NonNullable<LinuxResources['memory']>, w: CgroupWrite[], skipped: Skipped[]): void {
  const put = (file: string, value: number | string, field: string, optional = false) =>
    w.push({ controller: 'memory', file, value: String(value), jsonPath: `${R}.memory.${field}`, ...(optional ? { optional } : {}) });
  // memory.memsw.limit_in_bytes (memory+swap) may never be below memory.limit_in_bytes,
  // so the limit goes first, unless swap is unlimited (-1), which is always valid first.
  // Like runc, an unlimited memory limit with no swap given makes swap unlimited too.
  const swap = m.swap ?? (m.limit === -1 ? -1 : undefined);
  if (swap !== undefined && swap !== 0 && swap !== -1) {
    if (m.limit === undefined || m.limit <= 0) {
      throw new TsrunError('SPEC_INVALID', `${R}.memory.swap: a swap limit needs a memory limit`, { jsonPath: `${R}.memory.swap` });
    }
    if (swap < m.limit) {
      throw new TsrunError('SPEC_INVALID', `${R}.memory.swap: memory+swap (${swap}) must be at least memory.limit (${m.limit})`, {
        jsonPath: `${R}.memory.swap`,
      });
    }
  }
  // -1 is already the state of a fresh cgroup, so hosts without swap accounting (no memsw file) are fine.
  if (swap === -1) put('memory.memsw.limit_in_bytes', -1, m.swap === undefined ? 'limit' : 'swap', true);
  if (m.limit !== undefined && m.limit !== 0) put('memory.limit_in_bytes', m.limit, 'limit');
  if (swap !== undefined && swap !== 0 && swap !== -1) put('memory.memsw.limit_in_bytes', swap, 'swap');
  if (m.reservation !== undefined && m.reservation !== 0) put('memory.soft_limit_in_bytes', m.reservation, 'reservation');
  if (m.swappiness !== undefined) {
    if (m.swappiness > 100) {
      throw new TsrunError('SPEC_INVALID', `${R}.memory.swappiness: expected 0 to 100, got ${m.swappiness}`, {
        jsonPath: `${R}.memory.swappiness`,
      });
    }
    put('memory.swappiness', m.swappiness, 'swappiness');
  }
  if (m.disableOOMKiller === true) put('memory.oom_control', 1, 'disableOOMKiller');
  if (m.kernel !== undefined) {
    skipped.push({ jsonPath: `${R}.memory.kernel`, reason: 'kernel memory limits are deprecated by the kernel and ignored (as runc does)' });
  }
  // The TCP buffer limit still works on v1 (crun writes it too); kernels built without it lack the file.
  if (m.kernelTCP !== undefined) put('memory.kmem.tcp.limit_in_bytes', m.kernelTCP, 'kernelTCP', true);
}

function cpu(c: NonNullable<LinuxResources['cpu']>, w: CgroupWrite[]): void {
  const put = (controller: string, file: string, value: number | string, field: string) =>
    w.push({ controller, file, value: String(value), jsonPath: `${R}.cpu.${field}` });
  if (c.shares) put('cpu', 'cpu.shares', c.shares, 'shares');
  // Period before quota: on a fresh cgroup the quota is -1, so any period is accepted.
  if (c.period) put('cpu', 'cpu.cfs_period_us', c.period, 'period');
  if (c.quota !== undefined && c.quota !== 0) put('cpu', 'cpu.cfs_quota_us', c.quota, 'quota');
  if (c.burst !== undefined) put('cpu', 'cpu.cfs_burst_us', c.burst, 'burst');
  if (c.realtimePeriod) put('cpu', 'cpu.rt_period_us', c.realtimePeriod, 'realtimePeriod');
  if (c.realtimeRuntime) put('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime, 'realtimeRuntime');
  if (c.idle !== undefined) put('cpu', 'cpu.idle', c.idle, 'idle');
  if (c.cpus) put('cpuset', 'cpuset.cpus', c.cpus, 'cpus');
  if (c.mems) put('cpuset', 'cpuset.mems', c.mems, 'mems');
}

/** devices: deny everything, then each rule in order ("c 1:3 rwm" to devices.allow or devices.deny). */
function devices(rules: NonNullable<LinuxResources['devices']>, w: CgroupWrite[]): void {
  w.push({ controller: 'devices', file: 'devices.deny', value: 'a', jsonPath: `${R}.devices` });
  rules.forEach((rule, i) => {
    const jsonPath = `${R}.devices[${i}]`;
    w.push({ controller: 'devices', file: rule.allow ? 'devices.allow' : 'devices.deny', value: deviceRule(rule, jsonPath), jsonPath });
  });
}

function blockIO(b: NonNullable<LinuxResources['blockIO']>, w: CgroupWrite[]): void {
  const put = (file: string, value: string, jsonPath: string, fallback?: string) =>
    w.push({ controller: 'blkio', file, value, jsonPath: `${R}.blockIO.${jsonPath}`, ...(fallback ? { fallback: { file: fallback, value } } : {}) });
  // CFQ (blkio.weight) is gone from current kernels; BFQ's file is preferred, as runc does.
  if (b.weight) put('blkio.bfq.weight', String(b.weight), 'weight', 'blkio.weight');
  if (b.leafWeight) put('blkio.leaf_weight', String(b.leafWeight), 'leafWeight');
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) put('blkio.weight_device', `${d.major}:${d.minor} ${d.weight}`, `weightDevice[${i}].weight`);
    if (d.leafWeight) put('blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `weightDevice[${i}].leafWeight`);
  });
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [field, file] of throttles) {
    (b[field] ?? []).forEach((d, i) => put(file, `${d.major}:${d.minor} ${d.rate}`, `${field}[${i}]`));
  }
}

export function v1Plan(r: LinuxResources | undefined): CgroupPlan {
  const writes: CgroupWrite[] = [];
  const skipped: Skipped[] = [];
  if (!r) return { writes, skipped };
  if (r.memory) memory(r.memory, writes, skipped);
  if (r.cpu) cpu(r.cpu, writes);
  if (r.pids) {
    writes.push({ controller: 'pids', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max', jsonPath: `${R}.pids.limit` });
  }
  if (r.devices) devices(r.devices, writes);
  if (r.blockIO) blockIO(r.blockIO, writes);
  (r.hugepageLimits ?? []).forEach((h, i) =>
    writes.push({ controller: 'hugetlb', file: `hugetlb.${h.pageSize}.limit_in_bytes`, value: String(h.limit), jsonPath: `${R}.hugepageLimits[${i}]` }),
  );
  if (r.network?.classID !== undefined) {
    writes.push({ controller: 'net_cls', file: 'net_cls.classid', value: String(r.network.classID), jsonPath: `${R}.network.classID` });
  }
  (r.network?.priorities ?? []).forEach((p, i) =>
    writes.push({ controller: 'net_prio', file: 'net_prio.ifpriomap', value: `${p.name} ${p.priority}`, jsonPath: `${R}.network.priorities[${i}]` }),
  );
  for (const [dev, limits] of Object.entries(r.rdma ?? {})) {
    const value = rdmaValue(dev, limits);
    if (value) writes.push({ controller: 'rdma', file: 'rdma.max', value, jsonPath: `${R}.rdma.${dev}` });
  }
  // On hybrid hosts the unified map goes to the cgroup2 directory, which has no controllers.
  writes.push(...unifiedWrites(r.unified, 'unified'));
  return { writes, skipped };
}
