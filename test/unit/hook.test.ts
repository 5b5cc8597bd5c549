import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addressesOf, chooseDns, hostDns, renderHosts, renderResolvConf, writeNetworkFiles } from '../../src/network/cni-hook/dns-files.js';
import { capabilityArgs, hookArgs, parseHookArgs, parsePublish } from '../../src/network/cni-hook/options.js';
import { readRecord, recordedIds, removeRecord, writeRecord } from '../../src/network/cni-hook/record.js';
import { mountIntoContainer, prepareTargets, removeCreated } from '../../src/network/cni-hook/etc-mounts.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { AT, CLONE, MS, O, RESOLVE } from '../../src/sys/constants.js';
import { parseState, readBundle, stageOf } from '../../src/network/cni-hook/state.js';

const tmps: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'n5-unit-'));
  tmps.push(d);
  return d;
};
afterEach(() => {
  for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('hook options', () => {
  it('parses flags, fills defaults from the environment, and round-trips through hookArgs', () => {
    const o = parseHookArgs(['--network', 'n', '-p', '8080:80', '--publish', '127.0.0.1:53:53/udp'], { CNI_PATH: '/a:/b', NETCONFPATH: '/c' });
    expect(o).toEqual({
      networks: [{ name: 'n', ifName: 'eth0' }], confDir: '/c', cniPath: ['/a', '/b'], cacheDir: '/var/lib/cni', stage: undefined,
      publish: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' }],
    });
    expect(parseHookArgs(hookArgs(o), {})).toEqual(o);
    expect(capabilityArgs(o)).toEqual({ portMappings: o.publish });
    expect(capabilityArgs({ publish: [] })).toEqual({});
  });

  it('several networks: eth0, eth1 in order; NAME:ifname=IF or --ifname (the first) name them; clashes refused', () => {
    expect(parseHookArgs(['--network', 'a', '--network', 'b'], {}).networks).toEqual([{ name: 'a', ifName: 'eth0' }, { name: 'b', ifName: 'eth1' }]);
    expect(parseHookArgs(['--network=a', '--network', 'b:ifname=net9', '--ifname', 'e0'], {}).networks).toEqual([{ name: 'a', ifName: 'e0' }, { name: 'b', ifName: 'net9' }]);
    const o = parseHookArgs(['--network', 'a:ifname=x1', '--network', 'b'], {});
    expect(parseHookArgs(hookArgs(o), {})).toEqual(o);
    expect(() => parseHookArgs(['--network', 'a', '--network', 'b:ifname=eth0'], {})).toThrow(/"eth0" is given to two networks/);
    expect(() => parseHookArgs(['--network', 'none', '--network', 'b'], {})).toThrow(/none cannot be combined/);
    expect(() => parseHookArgs(['--network', 'a', '--conf-dir', '/x', '--conf-dir', '/y'], {})).toThrow(/--conf-dir given twice/);
  });

  it('rejects a missing network, a bad stage, stray arguments and bad port mappings', () => {
    expect(() => parseHookArgs([], {})).toThrow(/--network is required/);
    expect(() => parseHookArgs(['--network', 'n', '--stage', 'later'], {})).toThrow(/expected setup or teardown/);
    expect(() => parseHookArgs(['--network', 'n', 'extra'], {})).toThrow(/unexpected argument "extra"/);
    for (const bad of ['80', '0:80', '70000:80', '80:80/sctp', 'a:b']) expect(() => parsePublish(bad)).toThrow(/--publish/);
  });
});

describe('hook state', () => {
  it('needs id and bundle; the status picks setup or teardown unless --stage says', () => {
    expect(() => parseState('nope')).toThrow(/not JSON/);
    expect(() => parseState('{"id":"x"}')).toThrow(/"id" and "bundle"/);
    const st = parseState('{"ociVersion":"1.2.0","id":"x","status":"creating","pid":5,"bundle":"/b"}');
    expect(stageOf(st, undefined)).toBe('setup');
    expect(stageOf({ ...st, status: 'created' }, undefined)).toBe('setup');
    expect(stageOf({ ...st, status: 'stopped' }, undefined)).toBe('teardown');
    expect(stageOf({ ...st, status: 'stopped' }, 'setup')).toBe('setup');
    expect(() => stageOf({ ...st, status: 'running' }, undefined)).toThrow(/cannot tell setup from teardown/);
  });

  it('reads the rootfs (relative to the bundle) and hostname from config.json', () => {
    const b = tmp();
    writeFileSync(join(b, 'config.json'), JSON.stringify({ root: { path: 'rootfs' }, hostname: 'h1' }));
    expect(readBundle(b)).toEqual({ rootfs: join(b, 'rootfs'), hostname: 'h1' });
    writeFileSync(join(b, 'config.json'), JSON.stringify({ root: { path: '/abs' } }));
    expect(readBundle(b)).toEqual({ rootfs: '/abs', hostname: undefined });
    writeFileSync(join(b, 'config.json'), '{}');
    expect(() => readBundle(b)).toThrow(/root.path is missing/);
  });
});

describe('resolv.conf and hosts', () => {
  const result = { cniVersion: '1.0.0', ips: [{ address: '10.245.7.2/24' }, { address: 'fd00::2/64' }] };

  it('uses the result DNS when it has nameservers, else the host one without loopback resolvers', () => {
    const withDns = { ...result, dns: { nameservers: ['10.245.7.53'], domain: 'd.test', search: ['s.test', 'd.test'], options: ['ndots:2'] } };
    expect(renderResolvConf(chooseDns([result, withDns], () => 'nameserver 1.1.1.1'))).toBe(
      '# written by tsrun hook cni\nnameserver 10.245.7.53\nsearch d.test s.test\noptions ndots:2\n',
    );
    const host = 'nameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.10\nsearch lan\noptions edns0\n';
    expect(chooseDns([result], () => host)).toEqual({ nameservers: ['192.0.2.10'], search: ['lan'], options: ['edns0'] });
    expect(hostDns('')).toEqual({ nameservers: [], search: [], options: [] });
    expect(chooseDns([result], () => { throw new Error('ENOENT'); }).nameservers).toEqual([]);
  });

  it('hosts maps the hostname and id to every address, after the localhost lines', () => {
    expect(addressesOf(result)).toEqual(['10.245.7.2', 'fd00::2']);
    expect(addressesOf({ cniVersion: '0.2.0', ip4: { ip: '10.245.7.9/24' } })).toEqual(['10.245.7.9']);
    expect(renderHosts(['web', 'c1'], ['10.245.7.2', '10.245.8.2'])).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.245.7.2\tweb c1\n10.245.8.2\tweb c1\n',
    );
    expect(renderHosts([undefined, 'c1', 'c1'], ['10.245.7.2'])).toContain('10.245.7.2\tc1\n');
    expect(renderHosts([undefined], ['10.245.7.2'])).not.toContain('10.245.7.2');
  });

  it('writes both files into the container\'s own directory, by temp file + rename', () => {
    const d = join(tmp(), 'state', 'net');
    writeNetworkFiles(d, { resolvConf: 'nameserver 10.245.7.53\n', hosts: 'h\n' });
    writeNetworkFiles(d, { resolvConf: 'nameserver 10.245.7.54\n', hosts: 'h2\n' });
    expect(readFileSync(join(d, 'resolv.conf'), 'utf8')).toBe('nameserver 10.245.7.54\n');
    expect(readdirSync(d).sort()).toEqual(['hosts', 'resolv.conf']);
  });
});

describe('mount targets in the rootfs (real kernel, through an fd of the rootfs)', async () => {
  const { KoffiSyscalls } = await import('../../src/sys/koffi.js');
  const sys = new KoffiSyscalls();

  it('creates nothing when the image has the files (a symlink is followed inside the rootfs)', () => {
    const rootfs = join(tmp(), 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(join(rootfs, 'run'));
    writeFileSync(join(rootfs, 'etc', 'hosts'), '');
    writeFileSync(join(rootfs, 'run', 'resolv.conf'), '');
    symlinkSync('/run/resolv.conf', join(rootfs, 'etc', 'resolv.conf'));
    expect(prepareTargets(sys, rootfs)).toEqual({ rootfs, paths: [] });
  });

  it('creates what is missing (etc too), notes it, and removes it again only while it is empty', () => {
    const d = tmp();
    const rootfs = join(d, 'rootfs');
    mkdirSync(rootfs);
    const created = prepareTargets(sys, rootfs);
    expect(created).toEqual({ rootfs, paths: ['etc', 'etc/resolv.conf', 'etc/hosts'] });
    removeCreated(sys, created, () => {});
    expect(readdirSync(rootfs)).toEqual([]);
    const again = prepareTargets(sys, rootfs);
    writeFileSync(join(rootfs, 'etc', 'hosts'), 'written since\n');
    removeCreated(sys, again, () => {});
    expect(readdirSync(join(rootfs, 'etc'))).toEqual(['hosts']);
    // an etc symlink pointing out of the rootfs stays inside it
    const r2 = join(d, 'r2');
    mkdirSync(r2);
    mkdirSync(join(d, 'outside-etc'));
    symlinkSync('../outside-etc', join(r2, 'etc'));
    expect(prepareTargets(sys, r2)).toEqual({ rootfs: r2, paths: ['outside-etc', 'etc/resolv.conf', 'etc/hosts'] });
    expect(readdirSync(join(d, 'outside-etc'))).toEqual([]);
  });

  it('absolute symlinks to the host (etc, etc/resolv.conf) are resolved in the rootfs: nothing outside is made', () => {
    const d = tmp();
    const host = join(d, 'host');
    mkdirSync(host);
    const r = join(d, 'rootfs');
    mkdirSync(r);
    symlinkSync(host, join(r, 'etc')); // /etc → the host dir, by its host path
    const made = prepareTargets(sys, r).paths;
    expect(made.slice(-3)).toEqual([host.slice(1), 'etc/resolv.conf', 'etc/hosts']); // the dangling link's target, made in the rootfs
    expect(readdirSync(join(r, host)).sort()).toEqual(['hosts', 'resolv.conf']);
    expect(readdirSync(host)).toEqual([]);
    const r3 = join(d, 'r3');
    mkdirSync(join(r3, 'etc'), { recursive: true });
    symlinkSync(join(host, 'resolv.conf'), join(r3, 'etc', 'resolv.conf'));
    writeFileSync(join(r3, 'etc', 'hosts'), '');
    prepareTargets(sys, r3);
    expect(readdirSync(host)).toEqual([]);
    expect(readdirSync(join(r3, host))).toEqual(['resolv.conf']);
  });

  it('teardown finds what it made through the rootfs fd: an etc swapped for a symlink to the host removes nothing there', () => {
    const d = tmp();
    const host = join(d, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'resolv.conf'), '');
    writeFileSync(join(host, 'hosts'), '');
    const r = join(d, 'rootfs');
    mkdirSync(r);
    const created = prepareTargets(sys, r);
    rmSync(join(r, 'etc'), { recursive: true });
    symlinkSync(host, join(r, 'etc'));
    removeCreated(sys, created, () => {});
    expect(readdirSync(host).sort()).toEqual(['hosts', 'resolv.conf']);
    expect(lstatSync(join(r, 'etc')).isSymbolicLink()).toBe(true);
  });

  it('a rootfs that is gone: nothing to remove, no warning', () => {
    const warned: string[] = [];
    removeCreated(sys, { rootfs: join(tmp(), 'gone'), paths: ['etc/hosts'] }, (m) => warned.push(m));
    expect(warned).toEqual([]);
  });
});

describe('mount targets on the fake: every step through the door', () => {
  const PATH = O.PATH | O.CLOEXEC;
  const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
  const steps = (sys: FakeSyscalls) => sys.calls.map((c) => [c.name, ...c.args]);

  it('mountIntoContainer: setns into the container, the rootfs opened, each target found in it and mounted on as /proc/self/fd/N, back home', () => {
    const sys = new FakeSyscalls();
    const made = mountIntoContainer(sys, 77, '/b/rootfs', '/files');
    expect(made).toEqual({ rootfs: '/b/rootfs', paths: [] });
    expect(steps(sys)).toEqual([
      ['open', '/proc/thread-self/ns/mnt', O.RDONLY | O.CLOEXEC, 0],
      ['open', '/proc/77/ns/mnt', O.RDONLY | O.CLOEXEC, 0],
      ['unshare', CLONE.FS],
      ['setns', 101, CLONE.NEWNS],
      ['open', '/b/rootfs', O.PATH | O.DIRECTORY | O.CLOEXEC, 0],
      ['openat2', 102, 'etc/resolv.conf', PATH, 0, IN_ROOT],
      ['close', 103],
      ['openat2', 102, 'etc/hosts', PATH, 0, IN_ROOT],
      ['close', 104],
      ['close', 102],
      ['open', '/b/rootfs', O.PATH | O.DIRECTORY | O.CLOEXEC, 0],
      ['openat2', 105, 'etc/resolv.conf', PATH, 0, IN_ROOT],
      ['mount', '/files/resolv.conf', '/proc/self/fd/106', 'bind', MS.BIND, null],
      ['close', 106],
      ['openat2', 105, 'etc/hosts', PATH, 0, IN_ROOT],
      ['mount', '/files/hosts', '/proc/self/fd/107', 'bind', MS.BIND, null],
      ['close', 107],
      ['close', 105],
      ['setns', 100, CLONE.NEWNS],
      ['close', 101],
      ['close', 100],
    ]);
  });

  it('removeCreated: each path\'s parent found in the rootfs, the name opened O_NOFOLLOW and fstat-ed, then unlinkat on the parent\'s fd', () => {
    const sys = new FakeSyscalls().setStat('resolv.conf', 'file', 0o644, 0n, 0).setStat('hosts', 'file', 0o644, 0n, 12).setStat('etc', 'dir');
    removeCreated(sys, { rootfs: '/b/rootfs', paths: ['etc', 'etc/resolv.conf', 'etc/hosts'] }, () => {});
    expect(steps(sys)).toEqual([
      ['open', '/b/rootfs', O.PATH | O.DIRECTORY | O.CLOEXEC, 0],
      ['openat2', 100, 'etc', PATH, 0, IN_ROOT],
      ['openat', 101, 'hosts', PATH | O.NOFOLLOW, 0],
      ['fstat', 102],
      ['close', 102],
      ['close', 101], // hosts was written since: left
      ['openat2', 100, 'etc', PATH, 0, IN_ROOT],
      ['openat', 103, 'resolv.conf', PATH | O.NOFOLLOW, 0],
      ['fstat', 104],
      ['close', 104],
      ['unlinkat', 103, 'resolv.conf', 0],
      ['close', 103],
      ['openat2', 100, '.', PATH, 0, IN_ROOT],
      ['openat', 105, 'etc', PATH | O.NOFOLLOW, 0],
      ['fstat', 106],
      ['close', 106],
      ['unlinkat', 105, 'etc', AT.REMOVEDIR],
      ['close', 105],
      ['close', 100],
    ]);
  });

  it('a symlink where a made file was is left alone (never followed, never unlinked)', () => {
    const sys = new FakeSyscalls().setStat('resolv.conf', 'link');
    removeCreated(sys, { rootfs: '/b/rootfs', paths: ['etc/resolv.conf'] }, () => {});
    expect(sys.calls.some((c) => c.name === 'unlinkat')).toBe(false);
  });
});

describe('hook record', () => {
  it('is written, listed, read and removed per container', () => {
    const c = tmp();
    expect(recordedIds(c)).toEqual([]);
    const b = { containerId: 'b', netns: '/run/netns/b', cniPath: ['/x'], pid: 7, startTime: '99', networks: [{ name: 'n', ifName: 'eth0' }], filesDir: '/s/b/net', created: { rootfs: '/r', paths: ['etc/hosts'] } };
    writeRecord(c, b);
    writeRecord(c, { containerId: 'a', netns: '/run/netns/a', cniPath: [], pid: 8, startTime: '', networks: [] });
    expect(recordedIds(c)).toEqual(['a', 'b']);
    expect(readRecord(c, 'b')).toEqual(b);
    removeRecord(c, 'b');
    removeRecord(c, 'b');
    expect(readRecord(c, 'b')).toBeUndefined();
    expect(() => readRecord(c, '../x')).toThrow(/invalid container id/);
  });
});
