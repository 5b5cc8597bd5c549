import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { networkHooksOf, planNetwork } from '../../src/network/container-net.js';
import { parseHookArgs } from '../../src/network/hook/options.js';
import { readStat } from '../../src/runtime/proc.js';
import { makeContainerDir, saveRecord } from '../../src/runtime/state-store.js';
import type { Spec } from '../../src/spec/types.js';
import type { Syscalls } from '../../src/runtime/sys/syscalls.js';

// `tsrun run --net` as spec changes: no kernel, no plugins.
const root = mkdtempSync(join(tmpdir(), 'n5-cnet-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const warnings: string[] = [];
const ctx = { root, sys: {} as Syscalls, log: { warn: (m: string) => warnings.push(m), debug: () => {} } };

const base = (): Spec =>
  ({
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { args: ['true'], cwd: '/' },
    hooks: { createRuntime: [{ path: '/bin/own' }], poststop: [{ path: '/bin/own-stop' }] },
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }] },
  }) as unknown as Spec;
const netns = (s: Spec) => s.linux?.namespaces?.filter((n) => n.type === 'network');
const hookFlags = (s: Spec, phase: 'createRuntime' | 'poststop', i: number) => {
  const args = s.hooks![phase]![i]!.args!;
  return parseHookArgs(args.slice(args.indexOf('cni') + 1), {});
};

describe('planNetwork', () => {
  it('--net NAME adds the hook after the config\'s createRuntime hooks and before its poststop hooks, with absolute dirs', () => {
    const s = planNetwork(ctx, { net: 'n5u', publish: ['18080:80'], confDir: 'rel/conf', cacheDir: '/c', cniPath: '/p1:/p2' }).adjustSpec(base());
    expect(s.hooks!.createRuntime!.map((h) => h.path)).toEqual(['/bin/own', process.execPath]);
    expect(s.hooks!.poststop!.map((h) => h.path)).toEqual([process.execPath, '/bin/own-stop']);
    const o = hookFlags(s, 'createRuntime', 1);
    expect(o).toMatchObject({ network: 'n5u', confDir: join(process.cwd(), 'rel/conf'), cacheDir: '/c', cniPath: ['/p1', '/p2'], ifName: 'eth0' });
    expect(o.publish).toEqual([{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }]);
    expect(hookFlags(s, 'poststop', 0)).toEqual(o);
    expect(s.hooks!.createRuntime![1]!.env).toEqual([expect.stringMatching(/^PATH=/)]);
    expect(netns(s)).toEqual([{ type: 'network' }]);
    expect(base().hooks!.createRuntime).toHaveLength(1); // the input is not modified
  });

  it('the annotation chooses the network when --net is absent; no network leaves the spec alone', () => {
    const annotated = { ...base(), annotations: { 'org.tsrun.network': 'n5a', 'org.tsrun.publish': '8080:80,53:53/udp' } } as Spec;
    const s = planNetwork(ctx, {}).adjustSpec(annotated);
    expect(hookFlags(s, 'createRuntime', 1)).toMatchObject({ network: 'n5a', publish: [{ hostPort: 8080 }, { hostPort: 53, protocol: 'udp' }] });
    const plain = base();
    expect(planNetwork(ctx, {}).adjustSpec(plain)).toBe(plain);
    expect(() => planNetwork(ctx, { publish: ['1:2'] }).adjustSpec(base())).toThrow(/--publish needs a network/);
  });

  it('none: a new netns and the loopback-only hook, with no poststop; host: no network namespace', () => {
    const none = planNetwork(ctx, { net: 'none' }).adjustSpec(base());
    expect(hookFlags(none, 'createRuntime', 1).network).toBe('none');
    expect(none.hooks!.poststop).toHaveLength(1);
    const host = planNetwork(ctx, { net: 'host' }).adjustSpec(base());
    expect(netns(host)).toEqual([]);
    expect(host.hooks).toEqual(base().hooks);
    expect(() => planNetwork(ctx, { net: 'host', publish: ['1:2'] }).adjustSpec(base())).toThrow(/cannot be used with --net host/);
  });

  it('container:ID joins that container\'s netns by /proc path, and needs it alive', () => {
    makeContainerDir(root, 'n5-peer');
    const self = readStat(process.pid)!;
    saveRecord(root, {
      ociVersion: '1.2.0', id: 'n5-peer', bundle: '/b', rootfs: '/b/rootfs', pid: process.pid, initStartTime: self.startTime, stage: 'created',
      creatorPid: 0, creatorStartTime: '', created: new Date().toISOString(), owner: 'root', annotations: {}, spec: base(),
    });
    const s = planNetwork(ctx, { net: 'container:n5-peer' }).adjustSpec(base());
    expect(netns(s)).toEqual([{ type: 'network', path: `/proc/${process.pid}/ns/net` }]);
    expect(() => planNetwork(ctx, { net: 'container:n5-nope' }).adjustSpec(base())).toThrow(/n5-nope/);
  });

  it('refuses --net NAME when the config joins an existing netns, and a bad -p before anything runs', () => {
    const joined = { ...base(), linux: { namespaces: [{ type: 'network', path: '/proc/1/ns/net' }] } } as Spec;
    expect(() => planNetwork(ctx, { net: 'n5u' }).adjustSpec(joined)).toThrow(/needs a new network namespace/);
    expect(() => planNetwork(ctx, { net: 'n5u', publish: ['80'] }).adjustSpec(base())).toThrow(/--publish/);
  });

  it('cleanupAfterFailure does nothing when no network hook was planned, or the container still exists', async () => {
    const plan = planNetwork(ctx, { net: 'host' });
    plan.adjustSpec(base());
    await plan.cleanupAfterFailure('n5-any');
    expect(warnings).toEqual([]);
  });
});

describe('networkHooksOf', () => {
  it('finds the hook options written by planNetwork, folded across phases; ignores other hooks and "none"', () => {
    const s = planNetwork(ctx, { net: 'n5u', cacheDir: '/c' }).adjustSpec(base());
    expect(networkHooksOf(s)).toEqual([expect.objectContaining({ network: 'n5u', cacheDir: '/c' })]);
    expect(networkHooksOf(base())).toEqual([]);
    expect(networkHooksOf(planNetwork(ctx, { net: 'none' }).adjustSpec(base()))).toEqual([]);
  });
});
