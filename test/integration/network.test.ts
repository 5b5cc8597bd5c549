import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, baseConfig, isRoot, stateOf, tsrun, tsrunAsync, waitFor, type Config } from '../helpers/bundle.js';
import { cleanup, iptablesRules, linkExists, ok, sweepIptables, writeConf, writeFailingPlugin } from '../helpers/netns.js';

// `tsrun run --net`: the CNI chain run in-process (createRuntime, and teardown at
// delete) with the reference plugins. Names unique to this file: ids n5-*, bridges tsn5br0/tsn5br1,
// 10.245.1.0/24 and 10.245.2.0/24, host port 18580.
const NET = 'n5-net';
const FAILNET = 'n5-fail';
const BRIDGES = ['tsn5br0', 'tsn5br1'];
const PORT = 18580;
let s: Scratch;
let natBefore: string[];
let filterBefore: string[];
const started = new Set<string>();

const dirs = () => ({ conf: join(s.dir, 'conf'), cache: join(s.dir, 'cache'), ipam: join(s.dir, 'ipam'), bin: join(s.dir, 'bin') });
const netFlags = () => ['--conf-dir', dirs().conf, '--cache-dir', dirs().cache, '--cni-path', `${dirs().bin}:/usr/lib/cni`];
// this file's networks by exact name: network-runc.test.ts's n5-runc shares the prefix
const ours = (l: string) => /name: \\?"n5-(net|fail)\\?"|tsn5br/.test(l);
const rulesOf = (table: 'nat' | 'filter') => iptablesRules(table).split('\n').filter(ours);
const allocations = (net: string) => (existsSync(join(dirs().ipam, net)) ? readdirSync(join(dirs().ipam, net)).filter((f) => /^\d/.test(f)) : []);
const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
const bridgePorts = (br: string) => (linkExists(br) ? execFileSync('ip', ['-o', 'link', 'show', 'master', br], { encoding: 'utf8' }).trim() : '');
const cachedIp = (id: string) =>
  (JSON.parse(readFileSync(join(dirs().cache, 'results', `${NET}-${id}-eth0`), 'utf8')) as { result: { ips: { address: string }[] } }).result.ips[0]!.address.split('/')[0]!;

/** A bundle with its own rootfs copy, CAP_NET_RAW for ping, and this hostname. */
function bundle(args: string[], hostname: string, edit?: (c: Config) => void): string {
  const dir = s.rawBundle(undefined);
  cpSync(ROOTFS, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const cfg = baseConfig();
  cfg.root = { path: 'rootfs', readonly: true };
  cfg.hostname = hostname;
  cfg.process.args = args;
  for (const set of ['bounding', 'effective', 'permitted']) cfg.process.capabilities[set].push('CAP_NET_RAW');
  edit?.(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

function run(id: string, b: string, extra: string[] = []) {
  started.add(id);
  return tsrun(s.root, ["run", ...extra, ...netFlags(), "-b", b, id], { timeoutMs: 60_000 });
}

/** Nothing of container `id` is left: handle, mount, veth, addresses, cache, record, state, iptables. */
function expectNothingLeft(id: string, net = NET) {
  expect(existsSync(`/run/netns/${id}`)).toBe(false);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/run/netns/${id}`);
  expect(ls(join(dirs().cache, 'results')).filter((f) => f.includes(id))).toEqual([]);
  expect(ls(join(dirs().cache, 'tsrun-hook')).filter((f) => f.includes(id))).toEqual([]);
  expect(ls(join(dirs().ipam, net)).filter((f) => /^\d/.test(f) && readFileSync(join(dirs().ipam, net, f), 'utf8').startsWith(id))).toEqual([]);
  expect(existsSync(join(s.root, id))).toBe(false);
  expect(iptablesRules('nat')).not.toContain(`id: \\"${id}\\"`);
  expect(iptablesRules('filter')).not.toContain(`id: \\"${id}\\"`);
}

function fetch(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', reject);
  });
}

async function fetchRetry(host: string, port: number): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    try {
      return await fetch(host, port);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

beforeAll(() => {
  if (!isRoot) return;
  s = new Scratch('n5');
  natBefore = rulesOf('nat');
  filterBefore = rulesOf('filter');
  const d = dirs();
  writeConf(d.conf, '10-n5.conflist', {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      {
        type: 'bridge', bridge: 'tsn5br0', isGateway: true, ipMasq: true,
        ipam: { type: 'host-local', dataDir: d.ipam, subnet: '10.245.1.0/24', routes: [{ dst: '0.0.0.0/0' }] },
        dns: { nameservers: ['10.245.1.53', '10.245.1.54'], search: ['n5.test'] },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  });
  // bridge, then a plugin that fails ADD (and, like any plugin, succeeds on DEL)
  writeConf(d.conf, '20-n5-fail.conflist', {
    cniVersion: '1.0.0',
    name: FAILNET,
    plugins: [
      { type: 'bridge', bridge: 'tsn5br1', isGateway: true, ipam: { type: 'host-local', dataDir: d.ipam, subnet: '10.245.2.0/24' } },
      { type: 'n5fail' },
    ],
  });
  writeFailingPlugin(d.bin, 'n5fail');
});

afterAll(() => {
  if (!isRoot) return;
  for (const id of started) tsrun(s.root, ['delete', '--force', id]);
  cleanup({ links: BRIDGES });
  sweepIptables(NET);
  sweepIptables(FAILNET);
  for (const id of started) if (existsSync(`/run/netns/${id}`)) ok('ip', ['netns', 'del', id]);
  s.remove();
});

describe.skipIf(!isRoot)('tsrun run --net (the CNI chain in-process, with the reference plugins)', () => {
  it('two containers on a bridge ping each other and the gateway; resolv.conf from the result; hostname -i from /etc/hosts', async () => {
    expect(run('n5-c1', bundle(['sleep', '600'], 'n5-one'), ['-d', '--net', NET]).code).toBe(0);
    expect(run('n5-c2', bundle(['sleep', '600'], 'n5-two'), ['-d', '--net', NET]).code).toBe(0);
    const ip1 = cachedIp('n5-c1');
    const ip2 = cachedIp('n5-c2');
    expect(ip1).toMatch(/^10\.245\.1\.\d+$/);
    expect(existsSync('/run/netns/n5-c1')).toBe(true);
    const inC = (id: string, cmd: string) => {
      const pid = String(stateOf(s.root, id)!.pid);
      return spawnSync('nsenter', ['-t', pid, '-m', '-u', '-n', '-p', '-r', '-w', 'sh', '-c', cmd], { encoding: 'utf8' });
    };
    for (const [id, peer] of [['n5-c1', ip2], ['n5-c2', ip1]] as const) {
      const r = inC(id, `ping -c1 -W2 10.245.1.1 && ping -c1 -W2 ${peer}`);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const resolv = inC('n5-c1', 'cat /etc/resolv.conf').stdout;
    expect(resolv).toContain('nameserver 10.245.1.53\nnameserver 10.245.1.54\n');
    expect(resolv).toContain('search n5.test');
    expect(inC('n5-c2', 'hostname -i').stdout.trim()).toBe(ip2);
    expect(allocations(NET).sort()).toEqual([ip1, ip2].sort());
    // an in-container ping, too, from a third container that exits
    const r3 = run('n5-c3', bundle(['sh', '-c', `ping -c1 -W2 ${ip1} && hostname -i && cat /etc/hosts`], 'n5-three'), ['--net', NET]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stdout).toMatch(/^10\.245\.1\.\d+\tn5-three n5-c3$/m);
    expectNothingLeft('n5-c3');
  });

  it('delete tears the network down; DEL twice is fine', async () => {
    for (const id of ['n5-c1', 'n5-c2']) {
      expect(tsrun(s.root, ['delete', '--force', id]).code).toBe(0);
      expectNothingLeft(id);
    }
    expect(allocations(NET)).toEqual([]);
    // The kernel destroys a dead netns's devices asynchronously: give the veth pair a moment to go.
    await waitFor(() => bridgePorts('tsn5br0') === '', 'the bridge to lose its ports').catch(() => undefined);
    expect(bridgePorts('tsn5br0')).toBe('');
    // the poststop half again, by hand: nothing to do, still success
    const again = spawnSync(process.execPath, [CLI, 'hook', 'cni', '--network', NET, ...netFlags()], {
      input: JSON.stringify({ ociVersion: '1.2.0', id: 'n5-c1', status: 'stopped', bundle: s.dir }),
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).toBe(0);
  });

  it('-p 18580:80: the host fetches the page on 127.0.0.1 and on the bridge IP; the DNAT rule goes with delete', async () => {
    const b = bundle(['httpd', '-f', '-p', '80', '-h', '/var/www'], 'n5-web');
    try {
      expect(run('n5-web', b, ['-d', '--net', NET, '-p', `${PORT}:80`]).code).toBe(0);
      expect(iptablesRules('nat')).toMatch(new RegExp(`--dport ${PORT} .*DNAT --to-destination ${cachedIp('n5-web')}:80`));
      expect(await fetchRetry('127.0.0.1', PORT)).toContain('hello from tsrun');
      expect(await fetchRetry('10.245.1.1', PORT)).toContain('hello from tsrun');
      expect(await fetchRetry(cachedIp('n5-web'), 80)).toContain('hello from tsrun');
    } finally {
      expect(tsrun(s.root, ['delete', '--force', 'n5-web']).code).toBe(0);
    }
    expect(iptablesRules('nat')).not.toContain(`--dport ${PORT}`);
    expectNothingLeft('n5-web');
  });

  it('the org.tsrun.network annotation networks the container like --net does', () => {
    const b = bundle(['hostname', '-i'], 'n5-anno', (c) => (c.annotations = { 'org.tsrun.network': NET }));
    const r = tsrun(s.root, ['run', ...netFlags(), '-b', b, 'n5-anno']);
    started.add('n5-anno');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^10\.245\.1\.\d+$/);
    expectNothingLeft('n5-anno');
  });

  it('a failing plugin midway: the run fails with its error and nothing is left', async () => {
    const r = run('n5-bad', bundle(['true'], 'n5-bad'), ['--net', FAILNET]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('plugin type="n5fail" name="n5-fail" failed (add): n5fail says no');
    expectNothingLeft('n5-bad', FAILNET);
    expect(allocations(FAILNET)).toEqual([]);
    // The kernel destroys a dead netns's devices asynchronously: give the veth pair a moment to go.
    await waitFor(() => bridgePorts('tsn5br1') === '', 'the bridge to lose its ports').catch(() => undefined);
    expect(bridgePorts('tsn5br1')).toBe('');
    expect(tsrun(s.root, ['list', '--format', 'json']).stdout).not.toContain('n5-bad');
  });

  it('a failing createContainer hook after ADD: nothing is left', () => {
    const b = bundle(['true'], 'n5-cc', (c) => (c.hooks = { createContainer: [{ path: '/bin/false' }] }));
    const r = run('n5-cc', b, ['--net', NET]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('createContainer hook #0');
    expectNothingLeft('n5-cc');
  });

  it('delete after a killed `tsrun run` tears the network down', async () => {
    started.add('n5-kill');
    const { child } = tsrunAsync(s.root, ['run', '--net', NET, ...netFlags(), '-b', bundle(['sleep', '600'], 'n5-kill'), 'n5-kill']);
    await waitFor(() => stateOf(s.root, 'n5-kill')?.status === 'running', 'n5-kill running', 30_000);
    expect(existsSync('/run/netns/n5-kill')).toBe(true);
    // the container holds the CLI's pipes: wait for the CLI's exit, not for the pipes to close
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    child.stdout?.destroy();
    child.stderr?.destroy();
    expect(allocations(NET)).toHaveLength(1);
    const del = tsrun(s.root, ['delete', '--force', 'n5-kill']);
    expect(del.code, del.stderr).toBe(0);
    expectNothingLeft('n5-kill');
    expect(tsrun(s.root, ['delete', '--force', 'n5-kill']).code).toBe(0);
  });

  it('kill -9 of `tsrun run` while creating (after ADD, in a slow createContainer hook): delete --force leaves nothing', async () => {
    started.add('n5-slow');
    const b = bundle(['true'], 'n5-slow', (c) => (c.hooks = { createContainer: [{ path: '/bin/sleep', args: ['sleep', '30'] }] }));
    const { child } = tsrunAsync(s.root, ['run', '--net', NET, ...netFlags(), '-b', b, 'n5-slow']);
    await waitFor(() => ls(join(dirs().cache, 'results')).some((f) => f.includes('n5-slow')), 'n5-slow ADD', 30_000);
    const hosts = join(s.root, 'n5-slow', 'net', 'hosts');
    await waitFor(() => existsSync(hosts) && readFileSync(hosts, 'utf8').includes('n5-slow'), 'hosts written', 10_000);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    child.stdout?.destroy();
    child.stderr?.destroy();
    expect(existsSync('/run/netns/n5-slow')).toBe(true);
    const del = tsrun(s.root, ['delete', '--force', 'n5-slow']);
    expect(del.code, del.stderr).toBe(0);
    expectNothingLeft('n5-slow');
  });

  it('--net none has only loopback (up); --net host sees the host; --net container:ID shares its netns', () => {
    expect(run('n5-pause', bundle(['sleep', '600'], 'n5-pause'), ['-d', '--net', NET]).code).toBe(0);
    try {
      const joined = run('n5-join', bundle(['ip', '-o', '-4', 'addr', 'show', 'eth0'], 'n5-join'), ['--net', 'container:n5-pause']);
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stdout).toContain(`inet ${cachedIp('n5-pause')}/24`);
      const host = run('n5-host', bundle(['ip', '-o', 'link', 'show', 'tsn5br0'], 'n5-host'), ['--net', 'host']);
      expect(host.code, host.stderr).toBe(0);
      expect(host.stdout).toContain('tsn5br0');
      const none = run('n5-none', bundle(['sh', '-c', 'ip -o link show'], 'n5-none'), ['--net', 'none']);
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout.trim().split('\n')).toHaveLength(1);
      expect(none.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    } finally {
      const del = tsrun(s.root, ['delete', '--force', 'n5-pause']);
      expect(del.code, del.stderr).toBe(0);
    }
    expectNothingLeft('n5-pause');
  });

  it('tsrun net gc sweeps the network of a container that is gone and keeps the live one', () => {
    expect(run('n5-gone', bundle(['sleep', '600'], 'n5-gone'), ['-d', '--net', NET]).code).toBe(0);
    expect(run('n5-live', bundle(['sleep', '600'], 'n5-live'), ['-d', '--net', NET]).code).toBe(0);
    try {
      const pid = stateOf(s.root, 'n5-gone')!.pid;
      process.kill(pid, 'SIGKILL'); // the container's init, which this test started
      spawnSync('sh', ['-c', `while [ -e /proc/${pid} ]; do sleep 0.05; done`], { timeout: 10_000 });
      const gc = tsrun(s.root, ['net', 'gc', '--cache-dir', dirs().cache, '--cni-path', '/usr/lib/cni']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(JSON.parse(gc.stdout)).toEqual({ swept: ['n5-gone'] });
      expect(existsSync('/run/netns/n5-gone')).toBe(false);
      expect(existsSync('/run/netns/n5-live')).toBe(true);
      expect(allocations(NET)).toEqual([cachedIp('n5-live')]);
    } finally {
      for (const id of ['n5-gone', 'n5-live']) {
        const del = tsrun(s.root, ['delete', '--force', id]);
        expect(del.code, del.stderr).toBe(0);
      }
    }
    expectNothingLeft('n5-gone');
    expectNothingLeft('n5-live');
  });

  it('leaves no iptables rules of its own behind', () => {
    expect(rulesOf('nat')).toEqual(natBefore);
    expect(rulesOf('filter')).toEqual(filterBefore);
  });
});
