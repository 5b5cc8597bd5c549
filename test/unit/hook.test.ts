import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addressesOf, chooseDns, hostDns, renderHosts, renderResolvConf, writeNetworkFiles } from '../../src/network/cni-hook/dns-files.js';
import { capabilityArgs, hookArgs, parseHookArgs, parsePublish } from '../../src/network/cni-hook/options.js';
import { readRecord, recordedIds, removeRecord, writeRecord } from '../../src/network/cni-hook/record.js';
import { prepareTargets, removeCreated } from '../../src/network/cni-hook/etc-mounts.js';
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

describe('mount targets in the rootfs', () => {
  it('creates nothing when the image has the files (a symlink is followed inside the rootfs)', () => {
    const rootfs = join(tmp(), 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(join(rootfs, 'run'));
    writeFileSync(join(rootfs, 'etc', 'hosts'), '');
    writeFileSync(join(rootfs, 'run', 'resolv.conf'), '');
    symlinkSync('/run/resolv.conf', join(rootfs, 'etc', 'resolv.conf'));
    expect(prepareTargets(rootfs)).toEqual([]);
  });

  it('creates what is missing (etc too), notes it, and removes it again only while it is empty', () => {
    const d = tmp();
    const rootfs = join(d, 'rootfs');
    mkdirSync(rootfs);
    const created = prepareTargets(rootfs);
    expect(created).toEqual([join(rootfs, 'etc'), join(rootfs, 'etc', 'resolv.conf'), join(rootfs, 'etc', 'hosts')]);
    removeCreated(created, () => {});
    expect(readdirSync(rootfs)).toEqual([]);
    const again = prepareTargets(rootfs);
    writeFileSync(join(rootfs, 'etc', 'hosts'), 'written since\n');
    removeCreated(again, () => {});
    expect(readdirSync(join(rootfs, 'etc'))).toEqual(['hosts']);
    // an etc symlink pointing out of the rootfs stays inside it
    const r2 = join(d, 'r2');
    mkdirSync(r2);
    mkdirSync(join(d, 'outside-etc'));
    symlinkSync('../outside-etc', join(r2, 'etc'));
    expect(prepareTargets(r2)).toEqual([join(r2, 'outside-etc'), join(r2, 'outside-etc', 'resolv.conf'), join(r2, 'outside-etc', 'hosts')]);
    expect(readdirSync(join(d, 'outside-etc'))).toEqual([]);
  });
});

describe('hook record', () => {
  it('is written, listed, read and removed per container', () => {
    const c = tmp();
    expect(recordedIds(c)).toEqual([]);
    const b = { containerId: 'b', netns: '/run/netns/b', cniPath: ['/x'], pid: 7, startTime: '99', networks: [{ name: 'n', ifName: 'eth0' }], filesDir: '/s/b/net', created: ['/r/etc/hosts'] };
    writeRecord(c, b);
    writeRecord(c, { containerId: 'a', netns: '/run/netns/a', cniPath: [], pid: 8, startTime: '', networks: [], created: [] });
    expect(recordedIds(c)).toEqual(['a', 'b']);
    expect(readRecord(c, 'b')).toEqual(b);
    removeRecord(c, 'b');
    removeRecord(c, 'b');
    expect(readRecord(c, 'b')).toBeUndefined();
    expect(() => readRecord(c, '../x')).toThrow(/invalid container id/);
  });
});
