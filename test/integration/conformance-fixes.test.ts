import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Scratch, isRoot, stateOf, tsrun, ROOTFS } from '../helpers/bundle.js';
import { killLeftovers, leaks } from '../helpers/leak-check.js';
import { expectNothingLeft, fails } from '../helpers/outcome.js';

// What the OCI validation suite (npm run conformance) checks, kept as tests of their own:
// names the kernel cannot map fail create (process_rlimits_fail, process_capabilities_fail),
// and memory.kernelTCP reaches the v1 cgroup (linux_cgroups_memory). Ids start with cf-.

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

  it('an unknown capability name', () => {
    const dir = scratch!.bundle(['true'], (c) => c.process.capabilities.bounding.push('CAP_TEST'));
    fails(tsrun(root, ['create', '-b', dir, id('cap')]), 'process.capabilities.bounding[', 'CAP_TEST');
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
