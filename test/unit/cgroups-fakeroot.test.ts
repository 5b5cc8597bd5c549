import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TeardownError, TsrunError } from '../../src/errors.js';
import { fillCpuset } from '../../src/runtime/cgroups/create.js';
import { cgroupManager, cgroupManagerFromPaths, probeLayout } from '../../src/runtime/cgroups/index.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { AT, AT_FDCWD, O } from '../../src/sys/constants.js';
import { traceSyscalls } from '../../src/sys/tracing.js';
import { startExplaining, type ExplainEvent } from '../../src/explain/events.js';

const sys = new KoffiSyscalls();

// A plain directory tree standing in for /sys/fs/cgroup. Writes create ordinary files,
// so these tests check which files get which values and what is made and removed.

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-cg-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function hierarchy(name: string, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries({ 'cgroup.procs': '', ...files })) writeFileSync(join(dir, f), v);
  return dir;
}

function hybridRoot(): void {
  for (const c of ['memory', 'pids', 'cpu', 'freezer']) hierarchy(c);
  hierarchy('cpuset', { 'cpuset.cpus': '0-3', 'cpuset.mems': '0' });
  hierarchy('systemd');
  hierarchy('unified', { 'cgroup.controllers': '' });
}

const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

describe('cgroups on a fake v1/hybrid root', () => {
  it('probes the layout and maps cgroupsPath into every hierarchy', () => {
    hybridRoot();
    expect(probeLayout(root)?.mode).toBe('hybrid');
    const m = cgroupManager(sys, { id: 'c1', root });
    expect(m.paths).toEqual({
      cpu: join(root, 'cpu/tsrun/c1'),
      cpuset: join(root, 'cpuset/tsrun/c1'),
      freezer: join(root, 'freezer/tsrun/c1'),
      memory: join(root, 'memory/tsrun/c1'),
      'name=systemd': join(root, 'systemd/tsrun/c1'),
      pids: join(root, 'pids/tsrun/c1'),
      unified: join(root, 'unified/tsrun/c1'),
    });
  });

  it('create makes every dir and writes v1 files; join writes cgroup.procs everywhere', () => {
    hybridRoot();
    const m = cgroupManager(sys, { id: 'c1', cgroupsPath: '/t/c1', root });
    m.create({ memory: { limit: 67108864 }, pids: { limit: 20 }, cpu: { shares: 512 } });
    expect(read('memory/t/c1/memory.limit_in_bytes')).toBe('67108864');
    expect(read('pids/t/c1/pids.max')).toBe('20');
    expect(read('cpu/t/c1/cpu.shares')).toBe('512');
    for (const h of ['systemd', 'unified', 'freezer']) expect(existsSync(join(root, h, 't/c1'))).toBe(true);
    m.join(4242);
    for (const h of ['memory', 'pids', 'cpu', 'cpuset', 'freezer', 'systemd', 'unified']) {
      expect(read(h, 't/c1/cgroup.procs')).toBe('4242');
    }
    expect(m.pids()).toEqual([4242]);
  });

  it('a failed write names JSON path, value, file and errno, and removes what create made', () => {
    hybridRoot();
    // memory's leaf exists already, with the control file as a directory: the write fails EISDIR.
    mkdirSync(join(root, 'memory/tsrun/c1/memory.limit_in_bytes'), { recursive: true });
    const m = cgroupManager(sys, { id: 'c1', root });
    let err: unknown;
    try {
      m.create({ pids: { limit: 5 }, memory: { limit: 1024 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsrunError);
    const e = err as TsrunError;
    const file = join(root, 'memory/tsrun/c1/memory.limit_in_bytes');
    expect(e.message).toBe(`linux.resources.memory.limit: write 1024 to ${file}: EISDIR`);
    expect([e.code, e.jsonPath, e.file, e.errno]).toEqual(['SYSCALL', 'linux.resources.memory.limit', file, 'EISDIR']);
    // made by create → gone (parents too); there before → kept
    expect(existsSync(join(root, 'pids/tsrun'))).toBe(false);
    expect(existsSync(join(root, 'unified/tsrun'))).toBe(false);
    expect(existsSync(join(root, 'memory/tsrun/c1'))).toBe(true);
  });

  it('unified keys on hybrid must name an existing file (SPEC_INVALID with a hint), nothing leaks', () => {
    hybridRoot();
    const m = cgroupManager(sys, { id: 'c1', root });
    let err: TsrunError | undefined;
    try {
      m.create({ unified: { 'memory.high': '1000' } });
    } catch (e) {
      err = e as TsrunError;
    }
    expect(err?.code).toBe('SPEC_INVALID');
    expect(err?.jsonPath).toBe('linux.resources.unified["memory.high"]');
    expect(err?.hint).toMatch(/hybrid/);
    expect(existsSync(join(root, 'memory/tsrun'))).toBe(false);
  });

  it('a resource whose controller is not mounted is NOT_SUPPORTED before anything is made', () => {
    hybridRoot();
    const m = cgroupManager(sys, { id: 'c1', root });
    expect(() => m.create({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] })).toThrow(/hugetlb cgroup controller/);
    expect(existsSync(join(root, 'memory/tsrun'))).toBe(false);
  });

  it('fillCpuset copies cpus and mems down to every empty level (the v1 trap)', () => {
    hierarchy('cpuset', { 'cpuset.cpus': '0-3', 'cpuset.mems': '0' });
    for (const d of ['cpuset/a', 'cpuset/a/b']) {
      mkdirSync(join(root, d));
      writeFileSync(join(root, d, 'cpuset.cpus'), '');
      writeFileSync(join(root, d, 'cpuset.mems'), '\n');
    }
    fillCpuset(sys, join(root, 'cpuset/a/b'));
    expect([read('cpuset/a/cpuset.cpus'), read('cpuset/a/b/cpuset.cpus')]).toEqual(['0-3', '0-3']);
    expect([read('cpuset/a/cpuset.mems'), read('cpuset/a/b/cpuset.mems')]).toEqual(['0', '0']);
  });

  it('freezer state is read from freezer.state', () => {
    const m = cgroupManagerFromPaths(sys, { freezer: hierarchy('freezer/c', { 'freezer.state': 'FROZEN' }) });
    expect(m.isFrozen()).toBe(true);
    m.thaw();
    expect(read('freezer/c/freezer.state')).toBe('THAWED');
    expect(m.isFrozen()).toBe(false);
  });
});

describe('cgroups on a fake v2 root', () => {
  beforeEach(() => {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory\n');
    writeFileSync(join(root, 'cgroup.procs'), '');
  });

  it('enables the missing controllers in the ancestors and writes v2 files', () => {
    const m = cgroupManager(sys, { id: 'c1', root });
    expect(m.paths).toEqual({ '': join(root, 'tsrun/c1') });
    m.create({ memory: { limit: 67108864, swap: -1 }, pids: { limit: -1 }, cpu: { shares: 1024, quota: 20000, period: 100000 }, devices: [{ allow: false, access: 'rwm' }] });
    expect(read('cgroup.subtree_control')).toBe('+cpuset +cpu +io +pids');
    expect(read('tsrun/c1/memory.max')).toBe('67108864');
    expect(read('tsrun/c1/pids.max')).toBe('max');
    expect(read('tsrun/c1/cpu.weight')).toBe('100');
    expect(read('tsrun/c1/cpu.max')).toBe('20000 100000');
    expect(m.skipped).toEqual([{ jsonPath: 'linux.resources.devices', reason: expect.stringMatching(/eBPF/) }]);
  });

  it('every change goes through the door (the recording fake sees it): mkdirat of each dir, then openat + one write + close per value', () => {
    const fake = new FakeSyscalls();
    const m = cgroupManager(fake, { id: 'c1', root });
    m.create({ memory: { limit: 1048576 }, pids: { limit: 9 } });
    m.join(4242);
    const W = O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC;
    const leaf = join(root, 'tsrun/c1');
    expect(fake.calls.filter((c) => c.name === 'mkdirat')).toEqual([
      { name: 'mkdirat', args: [AT_FDCWD, join(root, 'tsrun'), 0o755] },
      { name: 'mkdirat', args: [AT_FDCWD, leaf, 0o755] },
    ]);
    expect(fake.calls.filter((c) => c.name === 'openat').map((c) => [c.args[1], c.args[2]])).toEqual([
      // (the fake made no tsrun/ to enable controllers in)
      [join(root, 'cgroup.subtree_control'), W],
      [join(leaf, 'memory.max'), W],
      [join(leaf, 'pids.max'), W],
      [join(leaf, 'cgroup.procs'), W],
    ]);
    expect(fake.written.slice(1)).toEqual([
      { path: join(leaf, 'memory.max'), data: '1048576' },
      { path: join(leaf, 'pids.max'), data: '9' },
      { path: join(leaf, 'cgroup.procs'), data: '4242' },
    ]);
    // no extra calls per value: open, write, close
    const perValue = fake.names().slice(fake.names().lastIndexOf('mkdirat') + 1);
    expect(perValue).toEqual(Array(4).fill(['openat', 'write', 'close']).flat());
    fake.calls.length = 0;
    m.thaw();
    expect(fake.written.at(-1)).toEqual({ path: join(leaf, 'cgroup.freeze'), data: '0' });
  });

  it('--explain shows each cgroup change with its reason (the config field or the rule behind it)', () => {
    const events: ExplainEvent[] = [];
    startExplaining((e) => events.push(e), 'runtime');
    const m = cgroupManager(traceSyscalls(sys), { id: 'c1', root });
    m.create({ memory: { limit: 1048576 } });
    m.join(process.pid + 1_000_000);
    const leaf = join(root, 'tsrun/c1');
    const lines = events.map((e) => `${e.call} ← ${e.why}`);
    expect(lines).toContain(`mkdirat(AT_FDCWD, "${leaf}", 0755) ← linux.cgroupsPath: the container's cgroup, in every hierarchy (with any missing parent)`);
    expect(lines).toContain(`openat(AT_FDCWD, "${join(leaf, 'memory.max')}", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) ← linux.resources.memory.limit`);
    expect(lines.some((l) => l.startsWith(`write(`) && l.includes(`<${join(leaf, 'memory.max')}>, "1048576") ← linux.resources.memory.limit`))).toBe(true);
    expect(lines.some((l) => /^write\(\d+ <.*\/cgroup\.subtree_control>, "\+cpuset \+cpu \+io \+pids"\) ← cgroup v2: /.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('write(') && l.includes('cgroup.procs>') && l.includes(`joins the container's cgroup`))).toBe(true);
  });

  it('destroy removes the cgroup through the door: unlinkat(AT_REMOVEDIR), deepest first, then tsrun\'s own parent', async () => {
    const fake = new FakeSyscalls();
    mkdirSync(join(root, 'tsrun/c1/sub'), { recursive: true });
    const m = cgroupManagerFromPaths(fake, { '': join(root, 'tsrun/c1') });
    await m.destroy();
    expect(fake.calls.filter((c) => c.name === 'unlinkat')).toEqual([
      { name: 'unlinkat', args: [AT_FDCWD, join(root, 'tsrun/c1/sub'), AT.REMOVEDIR] },
      { name: 'unlinkat', args: [AT_FDCWD, join(root, 'tsrun/c1'), AT.REMOVEDIR] },
      { name: 'unlinkat', args: [AT_FDCWD, join(root, 'tsrun'), AT.REMOVEDIR] },
    ]);
  });

  it('freeze polls cgroup.events; stats read v2 files', async () => {
    const dir = join(root, 'c');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    for (const [f, v] of Object.entries({ 'memory.current': '4096', 'memory.max': 'max', 'pids.current': '2', 'pids.max': '20', 'cpu.stat': 'usage_usec 7\nuser_usec 5\n' })) {
      writeFileSync(join(dir, f), v);
    }
    const m = cgroupManagerFromPaths(sys, { '': dir });
    await m.freeze();
    expect(read('c/cgroup.freeze')).toBe('1');
    expect(m.isFrozen()).toBe(true);
    expect(m.stats()).toEqual({ memory: { usage: 4096, limit: -1 }, pids: { current: 2, limit: 20 }, cpu: { usageNs: 7000 } });
  });
});

describe('destroy', () => {
  it('is idempotent: missing dirs are fine', async () => {
    const m = cgroupManagerFromPaths(sys, { memory: join(root, 'memory/gone'), pids: join(root, 'pids/gone') });
    await m.destroy();
    await m.destroy();
  });

  it('collects every failure and keeps going', async () => {
    const paths = { memory: hierarchy('memory/x', { junk: '1' }), pids: hierarchy('pids/x', { junk: '1' }), cpu: join(root, 'cpu/x') };
    mkdirSync(paths.cpu, { recursive: true });
    await expect(cgroupManagerFromPaths(sys, paths).destroy()).rejects.toSatisfy(
      (e: unknown) => e instanceof TeardownError && e.errors.length === 2 && /ENOTEMPTY/.test(e.message),
    );
    expect(existsSync(paths.cpu)).toBe(false);
  });

  it('removes the default /tsrun parent with its last container, and keeps it while another one lives', async () => {
    const a = { pids: join(root, 'pids/tsrun/a') };
    const b = { pids: join(root, 'pids/tsrun/b') };
    mkdirSync(a.pids, { recursive: true });
    mkdirSync(b.pids, { recursive: true });
    await cgroupManagerFromPaths(sys, a).destroy();
    expect(existsSync(join(root, 'pids/tsrun/b'))).toBe(true);
    await cgroupManagerFromPaths(sys, b).destroy();
    expect(existsSync(join(root, 'pids/tsrun'))).toBe(false);
    expect(existsSync(join(root, 'pids'))).toBe(true);
  });

  it('removes the cgroups a relative cgroupsPath made under /tsrun once empty, never a parent outside it', async () => {
    const a = { pids: join(root, 'pids/tsrun/testdir/sub/a') };
    const b = { pids: join(root, 'pids/tsrun/testdir/other/b') };
    const outside = { pids: join(root, 'pids/machine/x/c') };
    for (const p of [a, b, outside]) mkdirSync(p.pids, { recursive: true });
    await cgroupManagerFromPaths(sys, a).destroy();
    // sub was a's alone; testdir still holds b's branch
    expect(existsSync(join(root, 'pids/tsrun/testdir/sub'))).toBe(false);
    expect(existsSync(join(root, 'pids/tsrun/testdir/other/b'))).toBe(true);
    await cgroupManagerFromPaths(sys, b).destroy();
    expect(existsSync(join(root, 'pids/tsrun'))).toBe(false);
    await cgroupManagerFromPaths(sys, outside).destroy();
    expect(existsSync(join(root, 'pids/machine/x'))).toBe(true);
  });
});
