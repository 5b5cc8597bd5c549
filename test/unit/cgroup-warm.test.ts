import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownProcsFile, warmCgroupMigration } from '../../src/runtime/cgroups/warm.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';
import { O } from '../../src/sys/constants.js';

describe('ownProcsFile: the cgroup.procs of the cgroup this process is in', () => {
  const hybrid = { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', unified: '/sys/fs/cgroup/unified' };
  it('takes the first v1 line whose controller is mounted', () => {
    const text = '12:rdma:/\n4:cpu,cpuacct:/user.slice\n3:memory:/user.slice/x\n0::/user.slice/x\n';
    expect(ownProcsFile(text, hybrid)).toBe('/sys/fs/cgroup/cpu,cpuacct/user.slice/cgroup.procs');
  });
  it('the root cgroup is the mount point itself', () => {
    expect(ownProcsFile('3:memory:/\n', hybrid)).toBe('/sys/fs/cgroup/memory/cgroup.procs');
  });
  it('pure v2: the 0:: line', () => {
    expect(ownProcsFile('0::/system.slice/a.service\n', { '': '/sys/fs/cgroup/' })).toBe('/sys/fs/cgroup/system.slice/a.service/cgroup.procs');
  });
  it('nothing mounted that the process is in: none', () => {
    expect(ownProcsFile('1:name=systemd:/\n', { memory: '/m' })).toBeUndefined();
    expect(ownProcsFile('', hybrid)).toBeUndefined();
  });
});

describe('warmCgroupMigration on the fake', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsrun-warm-'));
    // every v1 controller and the v2 root, so whichever line /proc/self/cgroup has first is mounted
    for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc']) {
      mkdirSync(join(root, c));
      writeFileSync(join(root, c, 'cgroup.procs'), '');
    }
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('opens its own cgroup.procs, writes its pid on a pool thread, closes', async () => {
    const sys = new FakeSyscalls();
    await warmCgroupMigration(sys, root);
    const names = sys.calls.map((c) => c.name);
    expect(names).toEqual(['open', 'writeAsync', 'close']);
    expect(String(sys.calls[0]!.args[0])).toMatch(new RegExp(`^${root}/[a-z_]+/.*cgroup\\.procs$`));
    expect(sys.calls[0]!.args[1]).toBe(O.WRONLY | O.CLOEXEC);
    expect(sys.calls[1]!.args[1]).toBe(String(process.pid));
  });

  it('a refused write is no error: the fd is closed and the promise resolves', async () => {
    const sys = new FakeSyscalls().failOn('writeAsync', 'EBUSY');
    await expect(warmCgroupMigration(sys, root)).resolves.toBeUndefined();
    expect(sys.calls.map((c) => c.name)).toEqual(['open', 'writeAsync', 'close']);
  });

  it('an open that fails, or no hierarchy at all, does nothing more', async () => {
    const sys = new FakeSyscalls().failOn('open', 'EACCES');
    await expect(warmCgroupMigration(sys, root)).resolves.toBeUndefined();
    expect(sys.calls.map((c) => c.name)).toEqual(['open']);
    const none = new FakeSyscalls();
    await warmCgroupMigration(none, join(root, 'nothing-here'));
    expect(none.calls).toEqual([]);
  });
});

describe('KoffiSyscalls.writeAsync', () => {
  const sys = new KoffiSyscalls();
  it('writes the whole buffer and resolves with its length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-wa-'));
    try {
      const fd = openSync(join(dir, 'f'), 'w');
      try {
        await expect(sys.writeAsync(fd, 'hello')).resolves.toBe(5);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('hello');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('rejects with the errno of the failed write', async () => {
    await expect(sys.writeAsync(987654, 'x')).rejects.toMatchObject({ errno: 'EBADF' });
  });
});
