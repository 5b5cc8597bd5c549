import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import {
  cgroupPlan,
  cpuSharesToWeight,
  hierarchyPaths,
  parseMountinfo,
  resolveCgroupPath,
  swapMax,
  v1Plan,
  v2Plan,
} from '../../src/runtime/cgroups/index.js';
import type { LinuxResources } from '../../src/spec/types.js';

const pairs = (r: LinuxResources) => v1Plan(r).writes.map((w) => [w.controller, w.file, w.value]);
const pairs2 = (r: LinuxResources) => v2Plan(r).writes.map((w) => [w.file, w.value]);

function thrown(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TsrunError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('cgroupsPath rules', () => {
  it.each([
    [undefined, '/tsrun/c1'],
    ['', '/tsrun/c1'],
    ['/machine/c1', '/machine/c1'],
    ['/a//b/./c/', '/a/b/c'],
    ['pods/x', '/tsrun/pods/x'],
    ['./x', '/tsrun/x'],
  ])('%j → %s', (given, want) => {
    expect(resolveCgroupPath('c1', given)).toBe(want);
  });

  it('rejects ".." with SPEC_INVALID at linux.cgroupsPath', () => {
    for (const p of ['/a/../b', '../x', 'a/..']) {
      const e = thrown(() => resolveCgroupPath('c1', p));
      expect([e.code, e.jsonPath]).toEqual(['SPEC_INVALID', 'linux.cgroupsPath']);
    }
  });

  it('refuses the root cgroup and ids that cannot be a directory name', () => {
    expect(thrown(() => resolveCgroupPath('c1', '/')).code).toBe('SPEC_INVALID');
    expect(thrown(() => resolveCgroupPath('a/b')).code).toBe('BAD_INPUT');
  });

  it('systemd "slice:prefix:name" is NOT_SUPPORTED with a hint', () => {
    const e = thrown(() => resolveCgroupPath('c1', 'system.slice:tsrun:c1'));
    expect(e.code).toBe('NOT_SUPPORTED');
    expect(e.hint).toMatch(/cgroupsPath/);
  });
});

const HYBRID = `
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
41 22 0:38 / /other/memory rw - cgroup cgroup rw,pids`;

describe('layout from mountinfo', () => {
  it('hybrid: v1 controllers (co-mounted share a dir), name=systemd and unified', () => {
    expect(parseMountinfo(HYBRID)).toEqual({
      mode: 'hybrid',
      hierarchies: {
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        memory: '/sys/fs/cgroup/memory',
        'name=systemd': '/sys/fs/cgroup/systemd',
        unified: '/sys/fs/cgroup/unified',
      },
    });
  });

  it('pure v2, and v1 without cgroup2', () => {
    expect(parseMountinfo('25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate')).toEqual({
      mode: 'v2',
      hierarchies: { '': '/sys/fs/cgroup' },
    });
    const v1 = parseMountinfo(HYBRID.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'));
    expect(v1?.mode).toBe('v1');
    expect(parseMountinfo('1 0 0:1 / / rw - ext4 /dev/sda rw')).toBeUndefined();
  });

  it('decodes escaped mount points and maps each hierarchy to the cgroup path', () => {
    const l = parseMountinfo('25 1 0:22 / /my\\040cg rw - cgroup2 cgroup2 rw', '/my cg');
    expect(l && hierarchyPaths(l, '/tsrun/a')).toEqual({ '': '/my cg/tsrun/a' });
  });
});

describe('v1 mapping', () => {
  it('memory, pids, cpu and cpuset, in order', () => {
    expect(
      pairs({
        memory: { limit: 67108864, reservation: 33554432, swap: 134217728, swappiness: 10, disableOOMKiller: true },
        pids: { limit: 20 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      }),
    ).toEqual([
      ['memory', 'memory.limit_in_bytes', '67108864'],
      ['memory', 'memory.memsw.limit_in_bytes', '134217728'],
      ['memory', 'memory.soft_limit_in_bytes', '33554432'],
      ['memory', 'memory.swappiness', '10'],
      ['memory', 'memory.oom_control', '1'],
      ['cpu', 'cpu.shares', '512'],
      ['cpu', 'cpu.cfs_period_us', '100000'],
      ['cpu', 'cpu.cfs_quota_us', '50000'],
      ['cpuset', 'cpuset.cpus', '0'],
      ['cpuset', 'cpuset.mems', '0'],
      ['pids', 'pids.max', '20'],
    ]);
  });

  it('unlimited swap goes before the limit; pids ≤ 0 is "max"', () => {
    expect(pairs({ memory: { limit: 1 << 20, swap: -1 }, pids: { limit: 0 } })).toEqual([
      ['memory', 'memory.memsw.limit_in_bytes', '-1'],
      ['memory', 'memory.limit_in_bytes', '1048576'],
      ['pids', 'pids.max', 'max'],
    ]);
    expect(pairs({ pids: { limit: -1 } })).toEqual([['pids', 'pids.max', 'max']]);
  });

  it('swap below the limit or without one is SPEC_INVALID at memory.swap', () => {
    for (const memory of [{ limit: 100, swap: 50 }, { swap: 50 }]) {
      const e = thrown(() => v1Plan({ memory }));
      expect([e.code, e.jsonPath]).toEqual(['SPEC_INVALID', 'linux.resources.memory.swap']);
    }
  });

  it('devices: deny all, then each rule in order with -1 as "*"', () => {
    const plan = v1Plan({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, minor: -1, access: 'rw' },
        { allow: false, type: 'b', major: 8, minor: 0, access: 'm' },
      ],
    });
    expect(plan.writes.map((w) => [w.file, w.value, w.jsonPath])).toEqual([
      ['devices.deny', 'a', 'linux.resources.devices'],
      ['devices.deny', 'a *:* rwm', 'linux.resources.devices[0]'],
      ['devices.allow', 'c 1:3 rwm', 'linux.resources.devices[1]'],
      ['devices.allow', 'c 136:* rw', 'linux.resources.devices[2]'],
      ['devices.deny', 'b 8:0 m', 'linux.resources.devices[3]'],
    ]);
  });

  it('memory.kernelTCP is written (optional: kernels without it lack the file); memory.kernel is skipped', () => {
    const plan = v1Plan({ memory: { kernel: 1 << 20, kernelTCP: 50593792 } });
    expect(plan.writes).toEqual([
      { controller: 'memory', file: 'memory.kmem.tcp.limit_in_bytes', value: '50593792', jsonPath: 'linux.resources.memory.kernelTCP', optional: true },
    ]);
    expect(plan.skipped.map((s) => s.jsonPath)).toEqual(['linux.resources.memory.kernel']);
  });

  it('blkio, hugetlb, net_cls/net_prio, rdma; unified goes to the cgroup2 dir; kernel memory is skipped', () => {
    const plan = v1Plan({
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] },
      rdma: { mlx4_0: { hcaHandles: 2, hcaObjects: 2000 } },
      unified: { 'cgroup.max.depth': '3' },
      memory: { kernel: 1 << 20 },
    });
    expect(plan.writes.map((w) => [w.controller, w.file, w.value])).toEqual([
      ['blkio', 'blkio.bfq.weight', '500'],
      ['blkio', 'blkio.throttle.read_bps_device', '8:0 1048576'],
      ['hugetlb', 'hugetlb.2MB.limit_in_bytes', '0'],
      ['net_cls', 'net_cls.classid', '1048577'],
      ['net_prio', 'net_prio.ifpriomap', 'eth0 5'],
      ['rdma', 'rdma.max', 'mlx4_0 hca_handle=2 hca_object=2000'],
      ['unified', 'cgroup.max.depth', '3'],
    ]);
    expect(plan.writes[0].fallback).toEqual({ file: 'blkio.weight', value: '500' });
    expect(plan.skipped.map((s) => s.jsonPath)).toEqual(['linux.resources.memory.kernel']);
  });

  it('no resources, no writes; hybrid and v1 share the v1 plan', () => {
    expect(v1Plan(undefined)).toEqual({ writes: [], skipped: [] });
    expect(cgroupPlan('hybrid', { pids: { limit: 5 } })).toEqual(v1Plan({ pids: { limit: 5 } }));
  });
});

describe('v2 mapping', () => {
  it('memory, pids, cpu, cpuset', () => {
    expect(
      pairs2({
        memory: { limit: 67108864, reservation: 33554432, swap: 134217728 },
        pids: { limit: 20 },
        cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: '0-1', mems: '0' },
      }),
    ).toEqual([
      ['memory.swap.max', '67108864'],
      ['memory.max', '67108864'],
      ['memory.low', '33554432'],
      ['cpu.weight', '100'],
      ['cpu.max', '50000 100000'],
      ['cpu.max.burst', '1000'],
      ['cpuset.cpus', '0-1'],
      ['cpuset.mems', '0'],
      ['pids.max', '20'],
    ]);
  });

  it('"max" for unlimited values; quota -1 keeps a given period', () => {
    expect(pairs2({ memory: { limit: -1 }, cpu: { quota: -1, period: 50000 }, pids: { limit: 0 } })).toEqual([
      ['memory.swap.max', 'max'],
      ['memory.max', 'max'],
      ['cpu.max', 'max 50000'],
      ['pids.max', 'max'],
    ]);
  });

  it.each([
    [2, 1],
    [512, 59],
    [1024, 100],
    [2048, 174],
    [262144, 10000],
    [0, 0],
  ])('cpu shares %i → weight %i', (shares, weight) => {
    expect(cpuSharesToWeight(shares)).toBe(weight);
  });

  it('swap conversion follows runc', () => {
    expect(swapMax(undefined, 100)).toBeUndefined();
    expect(swapMax(0, -1)).toBe(-1);
    expect(swapMax(-1, 100)).toBe(-1);
    expect(swapMax(300, 100)).toBe(200);
    expect(thrown(() => swapMax(50, 100)).jsonPath).toBe('linux.resources.memory.swap');
  });

  it('devices, rt, swappiness and network are skipped (v2 devices need eBPF), not faked', () => {
    const plan = v2Plan({
      devices: [{ allow: false, access: 'rwm' }],
      cpu: { realtimeRuntime: 950000 },
      memory: { swappiness: 0 },
      network: { classID: 1 },
    });
    expect(plan.writes).toEqual([]);
    expect(plan.skipped.map((s) => s.jsonPath)).toEqual([
      'linux.resources.memory.swappiness',
      'linux.resources.cpu.realtimeRuntime',
      'linux.resources.devices',
      'linux.resources.network',
    ]);
  });

  it('io, hugetlb; unified written last as given; bad unified keys are SPEC_INVALID', () => {
    const plan = v2Plan({
      blockIO: { weight: 500, throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
      hugepageLimits: [{ pageSize: '1GB', limit: 1073741824 }],
      pids: { limit: 5 },
      unified: { 'pids.max': '7', 'memory.high': '1000000' },
    });
    expect(plan.writes.map((w) => [w.file, w.value])).toEqual([
      ['pids.max', '5'],
      ['io.bfq.weight', '500'],
      ['io.max', '8:0 wiops=100'],
      ['hugetlb.1GB.max', '1073741824'],
      ['pids.max', '7'],
      ['memory.high', '1000000'],
    ]);
    expect(plan.writes[1].fallback).toEqual({ file: 'io.weight', value: 'default 4950' });
    for (const key of ['../x.y', 'a/b.c', 'nodot']) {
      const e = thrown(() => v2Plan({ unified: { [key]: '1' } }));
      expect([e.code, e.jsonPath]).toEqual(['SPEC_INVALID', `linux.resources.unified[${JSON.stringify(key)}]`]);
    }
  });
});
