import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { networkHooksOf, planNetwork, type ContainerDirs } from '../../src/network/container-net.js';
import { hookArgs, parseHookArgs } from '../../src/network/cni-hook/options.js';
import type { Spec } from '../../src/spec/types.js';
import type { Syscalls } from '../../src/sys/syscalls.js';

// `tsrun run --net` as spec changes and in-process hooks: no kernel, no plugins.
const root = mkdtempSync(join(tmpdir(), 'n5-cnet-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const deps = { sys: {} as Syscalls, warn: () => {} };
const dirs: ContainerDirs = {
  stateDir: join(root, 'me'),
  peer: (id) => {
    if (id !== 'n5-peer') throw new Error(`no container ${id}`);
    return { netns: '/proc/4242/ns/net', stateDir: join(root, 'n5-peer') };
  },
};

const base = (): Spec =>
  ({
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { args: ['true'], cwd: '/' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    hooks: { createRuntime: [{ path: '/bin/own' }], poststop: [{ path: '/bin/own-stop' }] },
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }] },
  }) as unknown as Spec;
const netns = (s: Spec) => s.linux?.namespaces?.filter((n) => n.type === 'network');
const etcMounts = (dir: string) => [
  { destination: '/etc/resolv.conf', type: 'bind', source: join(dir, 'resolv.conf'), options: ['bind', 'nosuid', 'nodev', 'noexec'] },
  { destination: '/etc/hosts', type: 'bind', source: join(dir, 'hosts'), options: ['bind', 'nosuid', 'nodev', 'noexec'] },
];

describe('planNetwork', () => {
  it('--net NAME: a new netns and the container\'s own resolv.conf and hosts mounted over the image\'s; the config\'s hooks untouched', () => {
    const s = planNetwork(deps, { nets: ['n5u'], publish: ['18080:80'], confDir: 'rel/conf', cacheDir: '/c', cniPath: '/p1:/p2' }, dirs).adjustSpec(base());
    expect(s.hooks).toEqual(base().hooks);
    expect(netns(s)).toEqual([{ type: 'network' }]);
    expect(s.mounts).toEqual([...base().mounts!, ...etcMounts(join(root, 'me', 'net'))]);
    expect(base().mounts).toHaveLength(1); // the input is not modified
  });

  it('the annotation chooses the networks (comma-separated) when --net is absent; no network leaves the spec alone', () => {
    const annotated = { ...base(), annotations: { 'org.tsrun.network': 'n5a,n5b', 'org.tsrun.publish': '8080:80,53:53/udp' } } as Spec;
    expect(planNetwork(deps, {}, dirs).adjustSpec(annotated).mounts).toHaveLength(3);
    const plain = base();
    expect(planNetwork(deps, {}, dirs).adjustSpec(plain)).toBe(plain);
    expect(() => planNetwork(deps, { publish: ['1:2'] }, dirs).adjustSpec(base())).toThrow(/--publish needs a network/);
  });

  it('none: a new netns without mounts; host: no network namespace; neither combines with others', () => {
    const none = planNetwork(deps, { nets: ['none'] }, dirs).adjustSpec(base());
    expect(netns(none)).toEqual([{ type: 'network' }]);
    expect(none.mounts).toEqual(base().mounts);
    const host = planNetwork(deps, { nets: ['host'] }, dirs).adjustSpec(base());
    expect(netns(host)).toEqual([]);
    expect(() => planNetwork(deps, { nets: ['host'], publish: ['1:2'] }, dirs).adjustSpec(base())).toThrow(/cannot be used with --net host/);
    expect(() => planNetwork(deps, { nets: ['host', 'n5a'] }, dirs).adjustSpec(base())).toThrow(/cannot be combined/);
    expect(() => planNetwork(deps, { nets: ['none', 'n5a'] }, dirs).adjustSpec(base())).toThrow(/cannot be combined/);
  });

  it('several networks: eth0, eth1 in order, NAME:ifname=IF names one; clashes and bad options are refused', () => {
    expect(() => planNetwork(deps, { nets: ['a', 'b:ifname=eth0'] }, dirs).adjustSpec(base())).toThrow(/interface "eth0" is given to two networks/);
    expect(() => planNetwork(deps, { nets: ['a:mtu=9000'] }, dirs).adjustSpec(base())).toThrow(/unknown option "mtu=9000"/);
    expect(() => planNetwork(deps, { nets: ['a', 'a'] }, dirs).adjustSpec(base())).toThrow(/given twice/);
  });

  it('container:ID joins that container\'s netns, and its resolv.conf and hosts when it has them', () => {
    const s = planNetwork(deps, { nets: ['container:n5-peer'] }, dirs).adjustSpec(base());
    expect(netns(s)).toEqual([{ type: 'network', path: '/proc/4242/ns/net' }]);
    expect(s.mounts).toEqual(base().mounts);
    mkdirSync(join(root, 'n5-peer', 'net'), { recursive: true });
    writeFileSync(join(root, 'n5-peer', 'net', 'resolv.conf'), 'nameserver 10.245.1.53\n');
    const withFiles = planNetwork(deps, { nets: ['container:n5-peer'] }, dirs).adjustSpec(base());
    expect(withFiles.mounts).toEqual([...base().mounts!, ...etcMounts(join(root, 'n5-peer', 'net'))]);
    expect(() => planNetwork(deps, { nets: ['container:n5-nope'] }, dirs).adjustSpec(base())).toThrow(/n5-nope/);
  });

  it('refuses --net NAME when the config joins an existing netns, and a bad -p before anything runs', () => {
    const joined = { ...base(), linux: { namespaces: [{ type: 'network', path: '/proc/1/ns/net' }] } } as Spec;
    expect(() => planNetwork(deps, { nets: ['n5u'] }, dirs).adjustSpec(joined)).toThrow(/needs a new network namespace/);
    expect(() => planNetwork(deps, { nets: ['n5u'], publish: ['80'] }, dirs).adjustSpec(base())).toThrow(/--publish/);
  });

  it('the in-process poststop does nothing when no network was planned', async () => {
    const plan = planNetwork(deps, { nets: ['host'] }, dirs);
    plan.adjustSpec(base());
    await plan.hooks.poststop!({ ociVersion: '1.2.0', id: 'n5-any', status: 'stopped', bundle: '/b' });
    await plan.hooks.createRuntime!({ ociVersion: '1.2.0', id: 'n5-any', status: 'creating', bundle: '/b', pid: 1 });
  });
});

describe('networkHooksOf', () => {
  it('finds `tsrun hook cni` in a config, folded across phases; ignores other hooks and "none"', () => {
    const o = parseHookArgs(['--network', 'n5u', '--network', 'n5v', '--cache-dir', '/c'], {});
    const hook = { path: '/usr/bin/node', args: ['node', 'tsrun.js', 'hook', 'cni', ...hookArgs(o)] };
    const s = { ...base(), hooks: { createRuntime: [hook], poststop: [hook] } } as Spec;
    expect(networkHooksOf(s)).toEqual([expect.objectContaining({ networks: [{ name: 'n5u', ifName: 'eth0' }, { name: 'n5v', ifName: 'eth1' }], cacheDir: '/c' })]);
    expect(networkHooksOf(base())).toEqual([]);
    const none = { path: '/x', args: ['x', 'hook', 'cni', '--network', 'none'] };
    expect(networkHooksOf({ ...base(), hooks: { createRuntime: [none] } } as Spec)).toEqual([]);
  });
});
