import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI, Scratch, isRoot, stateOf, tsrun, ROOTFS } from '../helpers/bundle.js';
import { killLeftovers, leaks } from '../helpers/leak-check.js';
import { expectNothingLeft, fails } from '../helpers/outcome.js';

// What the OCI validation suite (npm run conformance) checks, kept as tests of their own:
// an rlimit the kernel cannot map fails create (process_rlimits_fail), a capability it
// cannot map or grant is a warning (config.md; process_capabilities_fail counts the
// other way), and memory.kernelTCP reaches the v1 cgroup (linux_cgroups_memory). Ids start with cf-.

const scratch = isRoot ? new Scratch('cf') : undefined;
const root = scratch?.root ?? '';
const ids = new Set<string>();
const id = (name: string): string => {
  ids.add(`cf-${name}`);
  return `cf-${name}`;
};
const cgroupParent = `/tsrun-cf-${process.pid}`;
const memoryV1 = '/sys/fs/cgroup/memory';
const hasKmemTcp = existsSync(join(memoryV1, 'memory.kmem.tcp.limit_in_bytes'));


const nothingLeft = (): void => expectNothingLeft(root, [scratch!.dir]);

afterEach(() => {
  if (!scratch) return;
  for (const i of ids) if (existsSync(join(root, i))) tsrun(root, ['delete', '--force', i]);
  ids.clear();
});

afterAll(() => {
  if (!scratch) return;
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  scratch.remove();
  // delete removes the container's cgroup; the parent made for this file is ours to remove.
  for (const h of ['memory', 'cpu', 'cpuacct', 'cpuset', 'blkio', 'devices', 'freezer', 'pids', 'systemd', 'unified']) {
    try {
      rmdirSync(`/sys/fs/cgroup/${h}${cgroupParent}`);
    } catch {
      // not made in this hierarchy
    }
  }
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot)('names the kernel cannot map fail create, naming the JSON path', () => {
  it('an unknown rlimit type', () => {
    const dir = scratch!.bundle(['true'], (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 64, hard: 64 }, { type: 'RLIMIT_TEST', soft: 1, hard: 1 }]));
    fails(tsrun(root, ['create', '-b', dir, id('rlimit')]), join(dir, 'config.json'), 'process.rlimits[1].type', 'RLIMIT_TEST');
    nothingLeft();
  });

  it('control: the same configs with known names run', () => {
    const dir = scratch!.bundle(['sh', '-c', 'ulimit -n'], (c) => {
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 64, hard: 64 }];
      c.process.capabilities.bounding.push('CAP_SYS_CHROOT');
    });
    const r = tsrun(root, ['run', '-b', dir, id('known')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('64\n');
  });
});

describe.skipIf(!isRoot)('capabilities that cannot be mapped or granted: a warning, the rest applied (runtime-spec config.md)', () => {
  const capBnd = (out: string): bigint => BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(out)![1]}`);
  const CHOWN = 1n << 0n;
  const KILL = 1n << 5n;
  const SYS_TIME = 1n << 25n;

  it('an unknown name is skipped with a warning that names it; runc runs the same bundle', () => {
    const dir = scratch!.bundle(['grep', 'CapBnd', '/proc/self/status'], (c) => {
      c.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_TEST'], permitted: ['CAP_CHOWN', 'CAP_TEST'], effective: ['CAP_CHOWN'] };
    });
    const r = tsrun(root, ['run', '-b', dir, id('cap-unknown')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('CAP_TEST');
    expect(capBnd(r.stdout)).toBe(CHOWN | KILL);
    const runcRoot = scratch!.mkdir('runc-root');
    const c = spawnSync('runc', ['--root', runcRoot, 'run', '-b', dir, 'cf-cap-unknown-runc'], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    expect(capBnd(c.stdout)).toBe(CHOWN | KILL);
  });

  it('a capability outside the runtime\'s own bounding set is dropped from every set with a warning', () => {
    const dir = scratch!.bundle(['grep', 'Cap', '/proc/self/status'], (c) => {
      const all = ['CAP_CHOWN', 'CAP_SYS_TIME'];
      c.process.capabilities = { bounding: all, permitted: all, effective: all, inheritable: all, ambient: all };
    });
    // tsrun itself started without CAP_SYS_TIME in its bounding set, as in a restricted sandbox
    const r = spawnSync('setpriv', ['--bounding-set', '-sys_time', '--', process.execPath, CLI, '--root', root, 'run', '-b', dir, id('cap-held')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('CAP_SYS_TIME');
    expect(capBnd(r.stdout)).toBe(CHOWN);
    expect(r.stdout).toMatch(/CapEff:\s*0+1\n/);
    expect(r.stdout).toMatch(/CapAmb:\s*0+1\n/);
    expect(capBnd(r.stdout) & SYS_TIME).toBe(0n);
  });
});

describe.skipIf(!isRoot)('hooks_stdin: the state on a create-time hook\'s stdin', () => {
  it('says "created" for prestart, createRuntime and createContainer (runtime.md: after lifecycle step 2)', () => {
    const out = scratch!.mkdir('hook-states');
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}/${name}`] });
    const name = id('hookstate');
    const dir = scratch!.bundle(['true'], (c) => {
      c.hooks = { prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], createContainer: [hook('createContainer')] };
    });
    const r = tsrun(root, ['create', '-b', dir, name]);
    expect(r.stderr).toBe('');
    for (const phase of ['prestart', 'createRuntime', 'createContainer']) {
      const state = JSON.parse(readFileSync(join(out, phase), 'utf8'));
      expect([phase, state.status, state.id, state.pid]).toEqual([phase, 'created', name, stateOf(root, name)?.pid]);
    }
    expect(tsrun(root, ['delete', '--force', name]).code).toBe(0);
    nothingLeft();
  });
});

describe.skipIf(!isRoot || !hasKmemTcp)('linux.resources.memory on cgroup v1', () => {
  it('kernelTCP is written to memory.kmem.tcp.limit_in_bytes', () => {
    const limit = 48 * 1024 * 1024;
    const name = id('kmemtcp');
    const dir = scratch!.bundle(['true'], (c) => {
      c.linux.cgroupsPath = `${cgroupParent}/${name}`;
      c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 2 * limit, kernelTCP: limit } };
    });
    const r = tsrun(root, ['create', '-b', dir, name]);
    expect(r.stderr).toBe('');
    expect(stateOf(root, name)?.status).toBe('created');
    const cg = `${memoryV1}${cgroupParent}/${name}`;
    expect(readFileSync(join(cg, 'memory.kmem.tcp.limit_in_bytes'), 'utf8').trim()).toBe(String(limit));
    expect(tsrun(root, ['delete', '--force', name]).code).toBe(0);
    expect(existsSync(cg)).toBe(false);
    nothingLeft();
  });
});
