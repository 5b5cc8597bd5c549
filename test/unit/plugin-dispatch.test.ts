import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { confListFromBytes } from '../../src/network/cni/conf.js';
import { FakePluginExec, reply } from '../../src/network/cni/fake-exec.js';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { FakeIptables } from '../../src/network/plugins/fake-iptables.js';
import { InProcessPluginExec } from '../../src/network/plugins/in-process-exec.js';
import type { PluginDeps } from '../../src/network/plugins/skel.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { startExplaining, type ExplainEvent } from '../../src/explain/events.js';

// The CNI client's dispatch: built-in types run in-process, others (and all
// of them with forceExec) go to the wrapped exec.
const NETNS = '/run/netns/tsp6-d';
const tmp = mkdtempSync(join(tmpdir(), 'tsp6-disp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(forceExec = false) {
  const netlink = new FakeNetlinkOpener();
  netlink.addNamespace(NETNS);
  const deps: PluginDeps = {
    sys: new FakeSyscalls(), netlink, iptables: new FakeIptables(), sysctl: () => {},
    ipam: async () => ({ cniVersion: '1.0.0', ips: [{ address: '10.246.12.2/24', gateway: '10.246.12.1' }] }),
    random: () => Buffer.from([1, 2, 3, 4]),
  };
  const fallback = new FakePluginExec({
    tuning: (c) => reply.ok(c.stdin.prevResult),
    loopback: () => reply.error(7, 'exec loopback was not expected'),
  });
  const cni = new CniClient({ exec: new InProcessPluginExec(fallback, { forceExec, deps }), cacheDir: mkdtempSync(join(tmp, 'cache-')) });
  return { cni, fallback, netlink };
}

const list = confListFromBytes(Buffer.from(JSON.stringify({
  cniVersion: '1.0.0', name: 'tsp6-d',
  plugins: [{ type: 'bridge', bridge: 'tsp6br0d', ipam: { type: 'host-local' } }, { type: 'tuning' }],
})));
const rt = { containerId: 'c1', netns: NETNS, ifName: 'eth0' };

describe('in-process dispatch', () => {
  it('runs bridge in-process and execs tuning, threading prevResult between them', async () => {
    const { cni, fallback, netlink } = setup();
    const r = await cni.addNetworkList(list, rt);
    expect(r).toMatchObject({ interfaces: [{ name: 'tsp6br0d' }, { name: 'veth01020304' }, { name: 'eth0' }] });
    expect(fallback.calls.map((c) => `${c.type} ${c.command}`)).toEqual(['tuning ADD']);
    expect(fallback.calls[0]!.stdin.prevResult).toMatchObject({ ips: [{ address: '10.246.12.2/24', interface: 2 }] });
    expect(netlink.log.some((l) => l.startsWith('host:addVeth'))).toBe(true);
    await cni.delNetworkList(list, rt);
    expect(fallback.calls.map((c) => `${c.type} ${c.command}`)).toEqual(['tuning ADD', 'tuning DEL']);
    expect(netlink.ns(NETNS).links.map((l) => l.name)).toEqual(['lo']);
  });

  it('with --explain, the in-process plugin\'s netlink requests come as one line each, before the plugin\'s own line, with the plugin as reason', async () => {
    const { cni } = setup();
    const events: ExplainEvent[] = [];
    startExplaining((e) => events.push(e), 'runtime');
    await cni.addNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
    const veth = events.findIndex((e) => e.kind === 'net' && /^RTM_NEWLINK veth "veth\w+" peer "eth0" \[peer netns \/run\/netns\/tsp6-d\]/.test(e.call));
    const add = events.findIndex((e) => e.kind === 'cni' && e.call.startsWith('bridge ADD'));
    expect(veth).toBeGreaterThanOrEqual(0);
    expect(veth).toBeLessThan(add);
    expect(events[veth]!.why).toBe('network "tsp6-d": plugin type "bridge" ADD');
    expect(events.some((e) => e.kind === 'net' && e.call.startsWith('RTM_DELLINK') && e.why === 'network "tsp6-d": plugin type "bridge" DEL')).toBe(true);
  });

  it('gives built-in plugin errors the CNI shape with their code', async () => {
    const { cni } = setup();
    const bad = confListFromBytes(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'tsp6-d', plugins: [{ type: 'bridge', hairpinMode: true, promiscMode: true }] })));
    const err = await cni.addNetworkList(bad, rt).catch((e) => e);
    expect(err.message).toBe('plugin type="bridge" name="tsp6-d" failed (add): cannot set hairpin mode and promiscuous mode at the same time.');
    expect(err.cniCode).toBe(999);
  });

  it('with forceExec, hands built-in types to the exec too', async () => {
    const { cni, fallback } = setup(true);
    const lo = confListFromBytes(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'tsp6-d', plugins: [{ type: 'loopback' }] })));
    await expect(cni.addNetworkList(lo, rt)).rejects.toThrow(/exec loopback was not expected/);
    expect(fallback.calls.map((c) => c.type)).toEqual(['loopback', 'loopback']);
  });
});
