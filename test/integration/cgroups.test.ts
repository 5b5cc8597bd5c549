import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';
import { cgroupManager, cgroupManagerFromPaths, detectLayout, type CgroupManager } from '../../src/runtime/cgroups/index.js';

const sys = new KoffiSyscalls();

// Real cgroups, as root. Every cgroup lives under /tsrun-test-cg-<random> (unique to this
// file); afterAll kills only the children spawned here and removes only those directories.

const layout = detectLayout();
const skip = process.getuid?.() !== 0 ? 'needs root' : !layout ? 'no cgroup hierarchy at /sys/fs/cgroup' : '';
const parent = `/tsrun-test-cg-${randomBytes(4).toString('hex')}`;
const children: ChildProcess[] = [];
const made: CgroupManager[] = [];

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function manager(name: string): CgroupManager {
  const m = cgroupManager(sys, { id: name, cgroupsPath: `${parent}/${name}` });
  made.push(m);
  return m;
}

const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();
const v2 = layout?.mode === 'v2';
const MiB64 = 64 * 1024 * 1024;

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const m of made) {
    for (const dir of new Set(Object.values(m.paths))) {
      for (const d of [dir, dirname(dir)]) {
        try {
          if (d.includes(parent)) rmdirSync(d);
        } catch {
          // gone already, or busy with a dir removed on the next pass
        }
      }
    }
  }
});

describe.skipIf(skip !== '')(`cgroups on this host (${layout?.mode ?? skip})`, () => {
  const m = skip ? undefined : manager('main');
  let child: ChildProcess;

  it('create makes the cgroup (and its parent) in every hierarchy and applies the limits', () => {
    m!.create({
      memory: { limit: MiB64 },
      pids: { limit: 20 },
      cpu: { shares: 512 },
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    });
    for (const dir of Object.values(m!.paths)) expect(existsSync(dir)).toBe(true);
    if (v2) {
      const dir = m!.paths[''];
      expect([read(dir, 'memory.max'), read(dir, 'pids.max'), read(dir, 'cpu.weight')]).toEqual([String(MiB64), '20', '59']);
      expect(m!.skipped.map((s) => s.jsonPath)).toEqual(['linux.resources.devices']);
    } else {
      expect(read(m!.paths.memory, 'memory.limit_in_bytes')).toBe(String(MiB64));
      expect(read(m!.paths.pids, 'pids.max')).toBe('20');
      expect(read(m!.paths.cpu, 'cpu.shares')).toBe('512');
      expect(read(m!.paths.devices, 'devices.list')).toBe('c 1:3 rwm');
      // the cpuset trap: the new parent and the leaf got cpus and mems copied down
      if (m!.paths.cpuset) {
        for (const d of [dirname(m!.paths.cpuset), m!.paths.cpuset]) {
          expect(read(d, 'cpuset.cpus')).not.toBe('');
          expect(read(d, 'cpuset.mems')).not.toBe('');
        }
      }
    }
  });

  it('join moves a process into every hierarchy; pids() lists it', async () => {
    child = sleeper();
    await once(child, 'spawn');
    m!.join(child.pid!);
    expect(m!.pids()).toEqual([child.pid]);
    const cgroups = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    const lines = cgroups.trim().split('\n');
    for (const line of lines) expect(line.endsWith(`${parent}/main`)).toBe(true);
    expect(m!.stats()).toMatchObject({ memory: { limit: MiB64 }, pids: { current: 1, limit: 20 } });
  });

  it('freeze stops the process, thaw lets it run', async () => {
    await m!.freeze();
    expect(m!.isFrozen()).toBe(true);
    if (v2) expect(read(m!.paths[''], 'cgroup.events')).toMatch(/^frozen 1$/m);
    else {
      expect(read(m!.paths.freezer, 'freezer.state')).toBe('FROZEN');
      expect(procState(child.pid!)).toBe('D');
    }
    m!.thaw();
    expect(m!.isFrozen()).toBe(false);
    expect(procState(child.pid!)).toBe('S');
  });

  it('a write the kernel refuses names the file, and create leaves no directory behind', () => {
    const bad = manager('bad');
    // a CFS quota below 1 ms is EINVAL on both versions
    const err = (() => {
      try {
        bad.create({ cpu: { quota: 500, period: 100000 } });
      } catch (e) {
        return e as TsrunError;
      }
    })();
    expect(err?.code).toBe('SYSCALL');
    expect(err?.errno).toBe('EINVAL');
    expect(err?.jsonPath).toMatch(/^linux\.resources\.cpu\.(quota|period)$/);
    expect(err?.message).toContain(v2 ? 'cpu.max' : 'cpu.cfs_quota_us');
    for (const dir of Object.values(bad.paths)) expect(existsSync(dir)).toBe(false);
  });

  it('destroy kills the process and removes the cgroup dirs but not the parent; again is fine', async () => {
    const exited = once(child, 'exit');
    await cgroupManagerFromPaths(sys, m!.paths).destroy();
    expect(await exited).toEqual([null, 'SIGKILL']);
    for (const dir of Object.values(m!.paths)) {
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(dirname(dir))).toBe(true);
    }
    await m!.destroy();
  });

  it('destroy of a frozen cgroup thaws it so the process can die', async () => {
    const f = manager('frozen');
    f.create({ pids: { limit: 5 } });
    const c = sleeper();
    await once(c, 'spawn');
    f.join(c.pid!);
    await f.freeze();
    const exited = once(c, 'exit');
    await f.destroy();
    expect(await exited).toEqual([null, 'SIGKILL']);
    for (const dir of Object.values(f.paths)) expect(existsSync(dir)).toBe(false);
  });
});

// A hybrid host's cgroup2 hierarchy has no controllers, but its core files (cgroup.procs,
// cgroup.freeze, cgroup.events, cgroup.kill) are real: drive the v2 code paths there,
// on a cgroup of our own, without enabling controllers in the host's root.
describe.skipIf(skip !== '' || layout?.mode !== 'hybrid')('cgroup v2 paths on the hybrid cgroup2 hierarchy', () => {
  it('create, join, freeze (cgroup.events frozen 1), thaw, destroy (cgroup.kill)', async () => {
    const dir = `${layout!.hierarchies.unified}${parent}/v2`;
    const m = cgroupManagerFromPaths(sys, { '': dir });
    made.push(m);
    m.create(undefined);
    const c = sleeper();
    await once(c, 'spawn');
    m.join(c.pid!);
    expect(m.pids()).toEqual([c.pid]);
    await m.freeze();
    expect(read(dir, 'cgroup.events')).toMatch(/^frozen 1$/m);
    expect(m.isFrozen()).toBe(true);
    m.thaw();
    expect(m.isFrozen()).toBe(false);
    await m.freeze();
    const exited = once(c, 'exit');
    await m.destroy();
    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(existsSync(dir)).toBe(false);
  });
});
