import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyUpdate, completeUpdate, oomKills, runcStats, subCgroupPaths, toJson, updatePlan } from '../../src/runtime/cgroups/index.js';
import { blkioEntries, cpuList } from '../../src/runtime/cgroups/runc-stats.js';
import { mergeResources } from '../../src/runtime/container/update.js';
import { filterPsOutput } from '../../src/runtime/container/ps.js';
import { checkDelete, checkExecStatus, checkKill, checkLive, checkPause, checkResume, checkStart, type Status } from '../../src/runtime/status.js';
import { caught } from '../helpers/caught.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';

const sys = new KoffiSyscalls();

// update, events and ps against a plain directory tree standing in for the
// container's cgroup directories; and the refusals callers match on, as a table.

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-cgu-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function dir(name: string, files: Record<string, string> = {}): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(d, f), v);
  return d;
}
const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8');

describe('update', () => {
  it('writes only the fields given (device rules and the rest stay as they are)', () => {
    const paths = { memory: dir('memory', { 'memory.limit_in_bytes': '1' }), cpu: dir('cpu'), pids: dir('pids'), devices: dir('devices', { 'devices.list': 'c 1:3 rwm' }) };
    const plan = updatePlan('hybrid', completeUpdate('hybrid', paths, { cpu: { quota: 20000 }, pids: { limit: 30 } }));
    expect(plan.writes.map((w) => [w.controller, w.file, w.value])).toEqual([['cpu', 'cpu.cfs_quota_us', '20000'], ['pids', 'pids.max', '30']]);
    applyUpdate(sys, paths, plan.writes);
    expect(read(paths.cpu, 'cpu.cfs_quota_us')).toBe('20000');
    expect(read(paths.devices, 'devices.list')).toBe('c 1:3 rwm');
  });
  it('pids 0 leaves the limit alone; -1 makes it unlimited', () => {
    expect(updatePlan('v1', { pids: { limit: 0 } }).writes).toEqual([]);
    expect(updatePlan('v1', { pids: { limit: -1 } }).writes.map((w) => w.value)).toEqual(['max']);
  });
  it('a swap limit alone takes the current memory limit (v1)', () => {
    const paths = { memory: dir('memory', { 'memory.limit_in_bytes': String(64 * 2 ** 20) }) };
    const delta = completeUpdate('v1', paths, { memory: { swap: 128 * 2 ** 20 } });
    expect(updatePlan('v1', delta).writes.map((w) => [w.file, w.value])).toEqual([
      ['memory.limit_in_bytes', String(64 * 2 ** 20)],
      ['memory.memsw.limit_in_bytes', String(128 * 2 ** 20)],
    ]);
  });
  it('v2: a cpu period alone keeps the current quota; a quota alone keeps the period', () => {
    const paths = { '': dir('c', { 'cpu.max': '20000 100000' }) };
    expect(updatePlan('v2', completeUpdate('v2', paths, { cpu: { period: 50000 } })).writes.map((w) => w.value)).toEqual(['20000 50000']);
    expect(updatePlan('v2', completeUpdate('v2', paths, { cpu: { quota: 30000 } })).writes.map((w) => w.value)).toEqual(['30000']);
    writeFileSync(join(paths[''], 'cpu.max'), 'max 100000');
    expect(updatePlan('v2', completeUpdate('v2', paths, { cpu: { period: 50000 } })).writes.map((w) => w.value)).toEqual(['max 50000']);
  });
  it('kernel memory is accepted and reported as skipped', () => {
    expect(updatePlan('v1', { memory: { kernel: 1 << 20 } }).skipped.map((s) => s.jsonPath)).toEqual(['linux.resources.memory.kernel']);
  });
  it('a write into a hierarchy the container lacks names the field', () => {
    const e = caught(() => applyUpdate(sys, { memory: dir('memory') }, updatePlan('v1', { pids: { limit: 5 } }).writes));
    expect(e.jsonPath).toBe('linux.resources.pids.limit');
  });
  it('the record keeps the merged resources', () => {
    expect(mergeResources({ memory: { limit: 1, swap: 2 }, devices: [{ allow: false, access: 'rwm' }] }, { memory: { limit: 5 } })).toEqual({
      memory: { limit: 5, swap: 2 },
      devices: [{ allow: false, access: 'rwm' }],
    });
  });
});

describe('exec --cgroup', () => {
  it('a path applies to every hierarchy; controller: to one (and its co-mounted twin)', () => {
    const cpu = dir('cpu,cpuacct/c');
    const mem = dir('memory/c');
    dir('cpu,cpuacct/c/sub');
    dir('memory/c/sub');
    const paths = { cpu, cpuacct: cpu, memory: mem };
    expect(subCgroupPaths(paths, ['sub'])).toEqual({ cpu: join(cpu, 'sub'), cpuacct: join(cpu, 'sub'), memory: join(mem, 'sub') });
    expect(subCgroupPaths(paths, ['cpu:sub'])).toEqual({ cpu: join(cpu, 'sub'), cpuacct: join(cpu, 'sub'), memory: mem });
  });
  it('refuses a missing sub-cgroup, an unknown controller and paths that leave the container', () => {
    const paths = { memory: dir('memory/c') };
    expect(caught(() => subCgroupPaths(paths, ['nope'])).message).toMatch(/--cgroup nope: .*memory\/c\/nope does not exist/);
    expect(caught(() => subCgroupPaths(paths, ['pids:x'])).message).toBe('--cgroup pids:x: the container has no "pids" cgroup');
    for (const bad of ['..', '../x', '/', '']) expect(caught(() => subCgroupPaths(paths, [bad])).message).toMatch(/expected a sub-cgroup path/);
  });
});

describe('events: stats in the shape runc prints', () => {
  it('v1 files → cpu, cpuset, memory, pids, blkio, hugetlb', () => {
    const big = '9223372036854771712';
    const paths = {
      cpuacct: dir('cpuacct', { 'cpuacct.usage': '300', 'cpuacct.usage_percpu': '100 200 ', 'cpuacct.stat': 'user 2\nsystem 1\n' }),
      cpu: dir('cpu', { 'cpu.stat': 'nr_periods 4\nnr_throttled 0\nthrottled_time 0\n' }),
      cpuset: dir('cpuset', { 'cpuset.cpus': '0-1,3', 'cpuset.mems': '0' }),
      memory: dir('memory', {
        'memory.limit_in_bytes': big, 'memory.usage_in_bytes': '4096', 'memory.max_usage_in_bytes': '8192', 'memory.failcnt': '0',
        'memory.memsw.limit_in_bytes': big, 'memory.memsw.usage_in_bytes': '4096', 'memory.memsw.max_usage_in_bytes': '8192', 'memory.memsw.failcnt': '0',
        'memory.stat': 'cache 12\nrss 34\n', 'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      }),
      pids: dir('pids', { 'pids.current': '1', 'pids.max': 'max' }),
      blkio: dir('blkio', { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n' }),
      hugetlb: dir('hugetlb', { 'hugetlb.2MB.usage_in_bytes': '0', 'hugetlb.2MB.max_usage_in_bytes': '0', 'hugetlb.2MB.failcnt': '0' }),
    };
    const s = runcStats(paths);
    expect(JSON.parse(toJson(s).replace(big, '"BIG"'))).toMatchObject({
      cpu: { usage: { total: 300, percpu: [100, 200], kernel: 10_000_000, user: 20_000_000 }, throttling: { periods: 4 } },
      cpuset: { cpus: [0, 1, 3], mems: [0] },
      memory: { cache: 12, usage: { limit: 'BIG', usage: 4096, max: 8192, failcnt: 0 }, swap: { usage: 4096 }, raw: { cache: 12, rss: 34 } },
      pids: { current: 1 },
      blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }] },
      hugetlb: { '2MB': { failcnt: 0 } },
      intel_rdt: {},
      network_interfaces: null,
    });
    // 2^63 - 4096 is written exactly, as a number
    expect(toJson(s)).toContain(`"limit":${big}`);
    expect(oomKills(paths)).toBe(2n);
  });
  it('v2 files → the same shape', () => {
    const d = dir('c', { 'cpu.stat': 'usage_usec 5\nuser_usec 3\nsystem_usec 2\n', 'memory.current': '4096', 'memory.max': 'max', 'memory.stat': 'file 7\n', 'pids.current': '2', 'pids.max': '10', 'memory.events': 'oom 1\noom_kill 1\n' });
    expect(JSON.parse(toJson(runcStats({ '': d })))).toMatchObject({
      cpu: { usage: { total: 5000, user: 3000, kernel: 2000 } },
      memory: { cache: 7, usage: { limit: 18446744073709551615, usage: 4096 } },
      pids: { current: 2, limit: 10 },
    });
    expect(oomKills({ '': d })).toBe(1n);
  });
  it('list and blkio parsers', () => {
    expect(cpuList('0-2,5')).toEqual([0, 1, 2, 5]);
    expect(cpuList('')).toEqual([]);
    expect(blkioEntries('Total 5\n')).toEqual([]);
  });
});

describe('ps: the header and the container rows of ps(1)', () => {
  const out = 'UID   PID  PPID CMD\nroot    1     0 init\nroot  4242    1 sleep 1000\nroot  4243  4242 sh\n';
  it('filters by the PID column', () => {
    expect(filterPsOutput(out, [4242])).toBe('UID   PID  PPID CMD\nroot  4242    1 sleep 1000\n');
    expect(filterPsOutput(out, [])).toBe('UID   PID  PPID CMD\n');
  });
  it('without a PID column: an error that says so', () => {
    expect(caught(() => filterPsOutput('COMMAND\nsleep\n', [1])).message).toMatch(/no PID column/);
  });
});

describe('refusals, in the words callers match on', () => {
  const all: Status[] = ['creating', 'created', 'running', 'paused', 'stopped'];
  const refusal = (fn: () => void): string => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  it.each<[string, (s: Status) => void, string[]]>([
    ['kill', checkKill, ['container not running', 'ok', 'ok', 'ok', 'container not running']],
    ['pause', checkPause, ['container not running', 'ok', 'ok', 'container not running', 'container not running']],
    ['resume', checkResume, ['container not paused', 'container not paused', 'container not paused', 'ok', 'container not paused']],
    ['start', checkStart, ['cannot start a container in the creating state', 'ok', 'cannot start an already running container', 'cannot start a container in the paused state', 'cannot start a container that has stopped']],
    ['delete', (s) => checkDelete('c9', s), ['cannot delete container c9 that is not stopped: creating', 'ok', 'cannot delete container c9 that is not stopped: running', 'cannot delete container c9 that is not stopped: paused', 'ok']],
    ['exec', (s) => checkExecStatus(s, false), ['cannot exec in a creating container', 'ok', 'ok', 'cannot exec in a paused container (use --ignore-paused to override)', 'cannot exec in a stopped container']],
    ['exec --ignore-paused', (s) => checkExecStatus(s, true), ['cannot exec in a creating container', 'ok', 'ok', 'ok', 'cannot exec in a stopped container']],
    ['update', (s) => checkLive('c9', s, 'update'), ['container not running', 'ok', 'ok', 'ok', 'container not running']],
    ['events', (s) => checkLive('c9', s, 'events'), ['container with id c9 is not running', 'ok', 'ok', 'ok', 'container with id c9 is not running']],
  ])('%s', (_op, check, want) => {
    expect(all.map((s) => refusal(() => check(s)))).toEqual(want);
  });
});
