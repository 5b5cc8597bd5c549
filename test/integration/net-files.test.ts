import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, ROOTFS, Scratch, baseConfig, isRoot, stateOf, tsrun } from '../helpers/bundle.js';
import { cleanup, iptablesRules, linkExists, ok, writeConf, writeFailingPlugin, writeLoggingPlugin } from '../helpers/netns.js';

// Per-container resolv.conf and hosts (the bundle is never written), several
// networks per container, in-process `run --net` and `tsrun hook cni` under
// runc, and the quickstart. Names unique to this file: ids nf-*, networks nf-a,
// nf-b, nf-fail, bridges tsnfbr0..2, 10.247.21.0/24 .. 10.247.23.0/24; the
// quickstart's own tsrun-demo0 on 10.199.77.0/24.
const BRIDGES = ['tsnfbr0', 'tsnfbr1', 'tsnfbr2'];
const hasRunc = ok('sh', ['-c', 'command -v runc']);
let s: Scratch;
const started = new Set<string>();

const dirs = () => ({ conf: join(s.dir, 'conf'), cache: join(s.dir, 'cache'), ipam: join(s.dir, 'ipam'), bin: join(s.dir, 'bin') });
const cniPath = () => `${dirs().bin}:/usr/lib/cni`;
const netFlags = () => ['--conf-dir', dirs().conf, '--cache-dir', dirs().cache, '--cni-path', cniPath()];
/** The `ip -o link show` line of interface `name` in `out` shows it administratively up with carrier (UP, LOWER_UP). */
const expectUp = (out: string, name: string) => {
  const line = out.split('\n').find((l) => new RegExp(`^\\d+: ${name}(@\\S+)?: <`).test(l));
  expect(line, `${name} in:\n${out}`).toBeDefined();
  expect(line!.match(/<([^>]*)>/)![1]!.split(',')).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
};
const orderLog = () => join(s.dir, 'order.log');
const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
const allocated = (net: string, id: string) => ls(join(dirs().ipam, net)).filter((f) => /^\d/.test(f) && readFileSync(join(dirs().ipam, net, f), 'utf8').startsWith(id));

/** A hash of a directory tree: names, types, modes, sizes, contents and link targets. */
function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${rel}/${name}\0${st.mode}\0${st.uid}:${st.gid}\0${st.size}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isFile()) h.update(readFileSync(p));
      else if (st.isDirectory()) walk(p, `${rel}/${name}`);
    }
  };
  walk(dir, '');
  return h.digest('hex');
}

/** A bundle with its own rootfs copy (to hash), CAP_NET_RAW, this hostname and args. */
function bundle(args: string[], edit?: (c: ReturnType<typeof baseConfig>) => void): string {
  const dir = s.rawBundle(undefined);
  cpSync(ROOTFS, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const cfg = baseConfig();
  cfg.root = { path: 'rootfs', readonly: true };
  cfg.hostname = 'nf-host';
  cfg.process.args = args;
  for (const set of ['bounding', 'effective', 'permitted']) cfg.process.capabilities[set].push('CAP_NET_RAW');
  edit?.(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

function run(id: string, b: string, extra: string[]) {
  started.add(id);
  return tsrun(s.root, ['run', ...extra, ...netFlags(), '-b', b, id], { timeoutMs: 60_000 });
}

const inC = (id: string, cmd: string) => {
  const pid = String(stateOf(s.root, id)!.pid);
  return spawnSync('nsenter', ['-t', pid, '-m', '-u', '-n', '-p', '-r', '-w', 'sh', '-c', cmd], { encoding: 'utf8' });
};

/** Nothing of container `id` is left on any of this file's networks. */
function expectNothingLeft(id: string) {
  expect(existsSync(`/run/netns/${id}`)).toBe(false);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/run/netns/${id}`);
  expect(ls(join(dirs().cache, 'results')).filter((f) => f.includes(id))).toEqual([]);
  expect(ls(join(dirs().cache, 'tsrun-hook')).filter((f) => f.includes(id))).toEqual([]);
  for (const net of ['nf-a', 'nf-b', 'nf-fail']) expect(allocated(net, id)).toEqual([]);
  expect(existsSync(join(s.root, id))).toBe(false);
  expect(iptablesRules('nat')).not.toContain(`id: \\"${id}\\"`);
}

function runcBundle(args: string[], networks: string[]): string {
  const b = bundle(args);
  const cfgFile = join(b, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  const hook = {
    path: process.execPath,
    args: ['node', CLI, 'hook', 'cni', ...networks.flatMap((n) => ['--network', n]), ...netFlags()],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    timeout: 60,
  };
  cfg.hooks = { createRuntime: [hook], poststop: [hook] };
  writeFileSync(cfgFile, JSON.stringify(cfg));
  return b;
}

const runc = (args: string[]) => spawnSync('runc', ['--root', join(s.dir, 'runc'), ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  if (!isRoot) return;
  s = new Scratch('nf');
  const d = dirs();
  const bridge = (name: string, br: string, subnet: string, dns?: string[]) => ({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge', bridge: br, isGateway: true,
        ipam: { type: 'host-local', dataDir: d.ipam, subnet, routes: [{ dst: `${subnet.replace(/\.0\/24$/, '.128')}/25` }] },
        ...(dns ? { dns: { nameservers: dns, search: [`${name}.test`] } } : {}),
      },
    ],
  });
  writeConf(d.conf, '10-nf-a.conflist', bridge('nf-a', 'tsnfbr0', '10.247.21.0/24', ['10.247.21.53']));
  writeConf(d.conf, '20-nf-b.conflist', bridge('nf-b', 'tsnfbr1', '10.247.22.0/24', ['10.247.22.53']));
  const fail = bridge('nf-fail', 'tsnfbr2', '10.247.23.0/24');
  fail.plugins.push({ type: 'nffail' } as never);
  writeConf(d.conf, '30-nf-fail.conflist', fail);
  writeFailingPlugin(d.bin, 'nffail');
  for (const name of ['nf-la', 'nf-lb']) writeConf(d.conf, `40-${name}.conflist`, { cniVersion: '1.0.0', name, plugins: [{ type: 'nforder' }] });
  writeLoggingPlugin(d.bin, 'nforder', orderLog());
});

afterAll(() => {
  if (!isRoot) return;
  for (const id of started) {
    tsrun(s.root, ['delete', '--force', id]);
    if (hasRunc) runc(['delete', '--force', id]);
    if (existsSync(`/run/netns/${id}`)) ok('ip', ['netns', 'del', id]);
  }
  cleanup({ links: [...BRIDGES, 'tsrun-demo0'] });
  s.remove();
});

describe.skipIf(!isRoot)('per-container resolv.conf and hosts; several networks', () => {
  it('two containers from one bundle on two networks each see their own resolv.conf; container: sees the first one\'s; the bundle stays byte-identical', () => {
    const b = bundle(['sleep', '600']);
    const before = treeHash(join(b, 'rootfs'));
    expect(run('nf-one', b, ['-d', '--net', 'nf-a']).code).toBe(0);
    expect(run('nf-two', b, ['-d', '--net', 'nf-b']).code).toBe(0);
    try {
      expect(inC('nf-one', 'cat /etc/resolv.conf').stdout).toContain('nameserver 10.247.21.53\nsearch nf-a.test');
      expect(inC('nf-two', 'cat /etc/resolv.conf').stdout).toContain('nameserver 10.247.22.53\nsearch nf-b.test');
      expect(inC('nf-one', 'cat /etc/hosts').stdout).toMatch(/^10\.247\.21\.\d+\tnf-host nf-one$/m);
      expect(inC('nf-two', 'hostname -i').stdout.trim()).toMatch(/^10\.247\.22\.\d+$/);
      // the image's files are untouched while they run
      expect(treeHash(join(b, 'rootfs'))).toBe(before);
      const r = tsrun(s.root, ['run', '--net', 'container:nf-one', '-b', bundle(['cat', '/etc/resolv.conf', '/etc/hosts']), 'nf-join2']);
      started.add('nf-join2');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('nameserver 10.247.21.53');
      expect(r.stdout).toMatch(/^10\.247\.21\.\d+\tnf-host nf-one$/m);
    } finally {
      for (const id of ['nf-one', 'nf-two']) expect(tsrun(s.root, ['delete', '--force', id]).code).toBe(0);
    }
    expectNothingLeft('nf-one');
    expectNothingLeft('nf-two');
    expect(treeHash(join(b, 'rootfs'))).toBe(before);
  });

  it('an image without /etc/resolv.conf and /etc/hosts: the empty files made to mount over go with the container', () => {
    const b = bundle(['cat', '/etc/resolv.conf']);
    rmSync(join(b, 'rootfs', 'etc', 'resolv.conf'));
    rmSync(join(b, 'rootfs', 'etc', 'hosts'));
    const before = treeHash(join(b, 'rootfs'));
    const r = run('nf-bare', b, ['--net', 'nf-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nameserver 10.247.21.53');
    expect(treeHash(join(b, 'rootfs'))).toBe(before);
    expectNothingLeft('nf-bare');
  });

  it('--net a --net b:ifname=net1: both interfaces up with their addresses and routes, DNS from the first; DEL of both', () => {
    const b = bundle(['sh', '-c', 'ip -o link show; ip -o -4 addr show; ip route; cat /etc/resolv.conf; cat /etc/hosts']);
    const r = run('nf-two-nets', b, ['--net', 'nf-a', '--net', 'nf-b:ifname=net1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eth0\s+inet 10\.247\.21\.\d+\/24/);
    expect(r.stdout).toMatch(/net1\s+inet 10\.247\.22\.\d+\/24/);
    expect(r.stdout).toContain('10.247.21.128/25 via 10.247.21.1 dev eth0');
    expect(r.stdout).toContain('10.247.22.128/25 via 10.247.22.1 dev net1');
    expectUp(r.stdout, 'eth0');
    expectUp(r.stdout, 'net1');
    expect(r.stdout).toContain('nameserver 10.247.21.53');
    expect(r.stdout).not.toContain('nameserver 10.247.22.53');
    expect(r.stdout).toMatch(/^10\.247\.21\.\d+\tnf-host nf-two-nets$/m);
    expect(r.stdout).toMatch(/^10\.247\.22\.\d+\tnf-host nf-two-nets$/m);
    expectNothingLeft('nf-two-nets');
    // the annotation takes the same list
    const anno = bundle(['ip', '-o', '-4', 'addr', 'show', 'eth1'], (c) => (c.annotations = { 'org.tsrun.network': 'nf-a,nf-b' }));
    const a = run('nf-anno', anno, []);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/eth1\s+inet 10\.247\.22\.\d+\/24/);
    expectNothingLeft('nf-anno');
  });

  it('--net a --net b: ADD a (eth0), ADD b (eth1), then DEL b and DEL a, in that order', () => {
    rmSync(orderLog(), { force: true });
    const r = run('nf-order', bundle(['true']), ['--net', 'nf-la', '--net', 'nf-lb']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(orderLog(), 'utf8').trim().split('\n')).toEqual(['ADD nf-la eth0', 'ADD nf-lb eth1', 'DEL nf-lb eth1', 'DEL nf-la eth0']);
    expectNothingLeft('nf-order');
  });

  it('a failure on the second network rolls back the first: nothing is left', () => {
    const b = bundle(['true']);
    const before = treeHash(join(b, 'rootfs'));
    const r = run('nf-rollback', b, ['--net', 'nf-a', '--net', 'nf-fail']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('nffail says no');
    expectNothingLeft('nf-rollback');
    expect(treeHash(join(b, 'rootfs'))).toBe(before);
  });

  it.skipIf(!hasRunc)('under runc with `tsrun hook cni --network a --network b`: both networks, the hook mounts the files, the bundle stays byte-identical, poststop DELs both', () => {
    const b = runcBundle(['sh', '-c', 'ip -o link show; ip -o -4 addr show; ip route; cat /etc/resolv.conf; hostname -i'], ['nf-a', 'nf-b']);
    const before = treeHash(join(b, 'rootfs'));
    started.add('nf-runc');
    const r = runc(['run', '-b', b, 'nf-runc']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eth0\s+inet 10\.247\.21\.\d+\/24/);
    expect(r.stdout).toMatch(/eth1\s+inet 10\.247\.22\.\d+\/24/);
    expect(r.stdout).toContain('10.247.21.128/25 via 10.247.21.1 dev eth0');
    expect(r.stdout).toContain('10.247.22.128/25 via 10.247.22.1 dev eth1');
    expectUp(r.stdout, 'eth0');
    expectUp(r.stdout, 'eth1');
    expect(r.stdout).toContain('nameserver 10.247.21.53');
    expect(r.stdout).toMatch(/^10\.247\.21\.\d+\b/m); // hostname -i, from the mounted hosts
    expect(treeHash(join(b, 'rootfs'))).toBe(before);
    expectNothingLeft('nf-runc');
  });

  it.skipIf(!hasRunc)('under runc, `tsrun hook cni --network a --network b` ADDs a then b and DELs b then a', () => {
    rmSync(orderLog(), { force: true });
    started.add('nf-runc-order');
    const r = runc(['run', '-b', runcBundle(['true'], ['nf-la', 'nf-lb']), 'nf-runc-order']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(orderLog(), 'utf8').trim().split('\n')).toEqual(['ADD nf-la eth0', 'ADD nf-lb eth1', 'DEL nf-lb eth1', 'DEL nf-la eth0']);
    expectNothingLeft('nf-runc-order');
  });

  it.skipIf(!hasRunc)('under runc, a failure on the second network rolls back the first', () => {
    const b = runcBundle(['true'], ['nf-a', 'nf-fail']);
    const before = treeHash(join(b, 'rootfs'));
    started.add('nf-runc-bad');
    const r = runc(['run', '-b', b, 'nf-runc-bad']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('nffail says no');
    runc(['delete', '--force', 'nf-runc-bad']);
    expectNothingLeft('nf-runc-bad');
    expect(treeHash(join(b, 'rootfs'))).toBe(before);
  });
});

describe.skipIf(!isRoot)('quickstart', () => {
  it('runs the busybox bundle on the shipped network: its address, a ping of its gateway, and nothing left', () => {
    const root = join(s.dir, 'quickstart-state');
    const busybox = join(REPO, 'bundles/busybox/rootfs');
    const before = treeHash(busybox);
    // the demo's id is made up (tsrun-<time>-<random>), as is that of any other file's `run` without one
    const handlesBefore = ls('/run/netns').filter((n) => n.startsWith('tsrun-'));
    const r = spawnSync('bash', [join(REPO, 'scripts/quickstart.sh')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, QUICKSTART_SKIP_SETUP: '1', TSRUN_ROOT: root },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hello from tsrun: tsrun-demo, eth0 10\.199\.77\.\d+\/24, nameserver 10\.199\.77\.1$/m);
    expect(r.stdout).toContain('1 packets transmitted, 1 packets received');
    expect(ls(root)).toEqual([]);
    expect(linkExists('tsrun-demo0')).toBe(false);
    expect(existsSync('/var/lib/cni/networks/tsrun-demo')).toBe(false);
    expect(ls('/var/lib/cni/results').filter((f) => f.startsWith('tsrun-demo-'))).toEqual([]);
    expect(ls('/run/netns').filter((n) => n.startsWith('tsrun-') && !handlesBefore.includes(n))).toEqual([]);
    expect(treeHash(busybox)).toBe(before);
  });
});
