import { describe, expect, it } from 'vitest';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { bridge } from '../../src/network/plugins/bridge.js';
import { FakeIptables } from '../../src/network/plugins/fake-iptables.js';
import { hostLocal } from '../../src/network/plugins/host-local/index.js';
import { MemoryStore } from '../../src/network/plugins/host-local/memory-store.js';
import { chainName } from '../../src/network/plugins/ipmasq.js';
import { loopback } from '../../src/network/plugins/loopback.js';
import type { PluginDeps, PluginRequest } from '../../src/network/plugins/skel.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { explainedDeps } from '../../src/network/plugins/explained-deps.js';
import { firewall } from '../../src/network/plugins/firewall/index.js';
import { inBatch, IptablesBatch } from '../../src/network/plugins/iptables-batch.js';
import { deleteFast } from '../../src/network/plugins/iptables-plan.js';
import { startExplaining, type ExplainEvent } from '../../src/explain/events.js';

// bridge and loopback on fakes: what they build, and what a failure at each
// step leaves behind (nothing but the bridge).
const NETNS = '/run/netns/tsp6-u';

function world() {
  const netlink = new FakeNetlinkOpener();
  netlink.addNamespace(NETNS);
  const iptables = new FakeIptables();
  const store = new MemoryStore();
  const ipamCalls: string[] = [];
  const sysctls: string[] = [];
  const hl = hostLocal(() => store);
  let names = 1;
  const deps: PluginDeps = {
    sys: new FakeSyscalls(), netlink, iptables,
    sysctl: (ns, k, v) => void sysctls.push(`${ns ?? 'host'} ${k}=${v}`),
    ipam: async (_type, req) => {
      ipamCalls.push(req.command);
      return req.command === 'ADD' ? hl.add(req, deps) : req.command === 'GC' ? hl.gc!(req, deps) : hl.del(req, deps);
    },
    random: () => Buffer.from([0xab, 0xcd, 0xef, names++]),
  };
  return { netlink, iptables, store, ipamCalls, sysctls, deps };
}

const req = (conf: object, command: PluginRequest['command'] = 'ADD'): PluginRequest => ({
  command, containerId: 'c1', netns: NETNS, ifName: 'eth0', args: '', path: [],
  conf: { cniVersion: '1.0.0', name: 'tsp6-u', type: 'bridge', bridge: 'tsp6br0u', ipam: { type: 'host-local', subnet: '10.246.10.0/24', routes: [{ dst: '0.0.0.0/0' }] }, ...conf },
});

describe('bridge plugin on fakes', () => {
  it('builds bridge, veth, addresses, routes, gateway and masquerade, and DEL removes all but the bridge', async () => {
    const w = world();
    const r = await bridge.add(req({ isGateway: true, ipMasq: true, hairpinMode: true }), w.deps);
    expect(r).toMatchObject({
      interfaces: [{ name: 'tsp6br0u' }, { name: 'vethabcdef01' }, { name: 'eth0', sandbox: NETNS }],
      ips: [{ address: '10.246.10.2/24', gateway: '10.246.10.1', interface: 2 }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    const cont = w.netlink.ns(NETNS);
    expect(cont.addrs).toContainEqual(expect.objectContaining({ address: '10.246.10.2', prefixLen: 24 }));
    expect(cont.routes).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gateway: '10.246.10.1' }));
    expect(w.netlink.ns().addrs).toContainEqual(expect.objectContaining({ address: '10.246.10.1' }));
    expect(w.netlink.log).toContain('host:setHairpin vethabcdef01 true');
    expect(w.sysctls).toContain('host net.ipv4.ip_forward=1');
    const chain = chainName('tsp6-u', 'c1');
    expect(w.iptables.rules(4, 'nat', chain)).toHaveLength(2);
    expect(w.iptables.rules(4, 'nat', 'POSTROUTING')).toHaveLength(1);

    await bridge.del(req({ isGateway: true, ipMasq: true }, 'DEL'), w.deps);
    await bridge.del(req({ isGateway: true, ipMasq: true }, 'DEL'), w.deps);
    expect(w.netlink.ns().links.map((l) => l.name)).toEqual(['lo', 'tsp6br0u']);
    expect(cont.links.map((l) => l.name)).toEqual(['lo']);
    expect(w.iptables.rules(4, 'nat', chain)).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'POSTROUTING')).toEqual([]);
    expect(w.store.ips.size).toBe(0);
  });

  it('--explain: each netlink request, iptables batch and sysctl of the plugin is one readable line, the plugin as its reason', async () => {
    const w = world();
    const events: ExplainEvent[] = [];
    startExplaining((e) => events.push(e), 'runtime');
    const why = 'network "tsp6-u": plugin type "bridge" ADD';
    await bridge.add(req({ isGateway: true, ipMasq: true }), explainedDeps(w.deps, why));
    const net = events.filter((e) => e.kind === 'net');
    expect(net.every((e) => e.why === why)).toBe(true);
    const lines = net.map((e) => `${e.call} = ${e.result}`);
    expect(lines).toContain('RTM_NEWLINK bridge "tsp6br0u" = ok: index 2 "tsp6br0u"');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^RTM_NEWLINK veth "vethabcdef01" peer "eth0" \\[peer netns ${NETNS}\\]`)));
    expect(lines).toContain(`RTM_NEWADDR 10.246.10.2/24 dev 2 [netns ${NETNS}] = ok`);
    expect(lines).toContain('sysctl net.ipv4.ip_forward=1 = ok');
    const chain = chainName('tsp6-u', 'c1');
    const batch = lines.find((l) => l.startsWith('iptables-restore -w --noflush: '));
    expect(batch).toMatch(new RegExp(`^iptables-restore -w --noflush: 3 rules: \\*nat ; :${chain} - \\[0:0\\] ; -A ${chain} .*-A POSTROUTING .*-j ${chain} = ok$`));
    // the in-memory fakes saw the same changes as without explaining
    expect(w.iptables.rules(4, 'nat', chain)).toHaveLength(2);
  });

  it.each([
    ['setMaster', 'netlink'],
    ['addAddr', 'netlink'],
    ['addRoute', 'netlink'],
    ['MASQUERADE', 'iptables'],
  ])('a failure at %s leaves no veth, no IP and no rules', async (step, where) => {
    const w = world();
    if (where === 'netlink') w.netlink.failOn(step, 'EPERM');
    else w.iptables.failWhen = step;
    await expect(bridge.add(req({ isGateway: true, ipMasq: true }), w.deps)).rejects.toThrow();
    expect(w.netlink.ns().links.map((l) => l.name)).toEqual(['lo', 'tsp6br0u']);
    expect(w.netlink.ns(NETNS).links.map((l) => l.name)).toEqual(['lo']);
    expect(w.store.ips.size).toBe(0);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-u', 'c1'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'POSTROUTING')).toEqual([]);
  });

  it.each([[true], [false]])('a chain\'s batched DEL (ipMasq %s): the rules naming the address are gone before the address goes back to IPAM', async (ipMasq) => {
    // Otherwise a container given the address meanwhile could lose its own identical firewall rule to the late deletion.
    const w = world();
    const prev = await bridge.add(req({ isGateway: true, ipMasq }), w.deps);
    const fw = { cniVersion: '1.0.0', name: 'tsp6-u', type: 'firewall', backend: 'iptables', prevResult: prev };
    await firewall.add({ ...req({}), conf: fw }, w.deps);
    expect(w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.10.2/32'))).toHaveLength(2);
    const log: string[] = [];
    const restore = w.iptables.restore.bind(w.iptables);
    w.iptables.restore = async (f, text) => {
      const r = await restore(f, text);
      log.push(`restore ${text.match(/\*\w+/g)!.join(' ')}`); // when it is done, not when it starts
      return r;
    };
    const ipam = w.deps.ipam;
    const deps: PluginDeps = { ...w.deps, ipam: (type, r) => (log.push(`ipam ${r.command}`), ipam(type, r)) };
    const b = new IptablesBatch('del', (d) => deleteFast(d.x, d.family, d.table, d.lines, d.plan));
    await inBatch(b, async () => {
      await firewall.del({ ...req({}, 'DEL'), conf: fw }, deps);
      await bridge.del({ ...req({ isGateway: true, ipMasq }, 'DEL'), conf: { ...req({ isGateway: true, ipMasq }).conf, prevResult: prev } }, deps);
    });
    expect(await b.flushDeletions()).toEqual([]);
    expect(log[0]).toMatch(/^restore .*\*filter/);
    expect(log[1]).toBe('ipam DEL');
    expect(w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.10.2/32'))).toEqual([]);
    if (ipMasq) expect(w.iptables.rules(4, 'nat', chainName('tsp6-u', 'c1'))).toBeUndefined();
    expect(w.store.ips.size).toBe(0);
  });

  it('DEL with the netns gone still releases the IP and removes the masquerade chain', async () => {
    const w = world();
    await bridge.add(req({ ipMasq: true }), w.deps);
    w.netlink.namespaces.delete(NETNS);
    await bridge.del(req({ ipMasq: true }, 'DEL'), w.deps);
    expect(w.store.ips.size).toBe(0);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-u', 'c1'))).toBeUndefined();
  });

  it('refuses an existing container interface and a non-bridge link of the bridge name', async () => {
    const w = world();
    w.netlink.open(NETNS).addBridge('eth0');
    await expect(bridge.add(req({}), w.deps)).rejects.toThrow(/container veth name provided \(eth0\) already exists/);
    const v = world();
    v.netlink.open().addVeth('tsp6br0u', { name: 'x' });
    await expect(bridge.add(req({}), v.deps)).rejects.toThrow(/"tsp6br0u" already exists but is not a bridge/);
    await expect(bridge.add(req({ hairpinMode: true, promiscMode: true }), v.deps)).rejects.toThrow(/cannot set hairpin mode and promiscuous mode/);
  });
});

describe('bridge GC (spec 1.1)', () => {
  it('releases IPs and masquerade chains of containers not in valid-attachments', async () => {
    const w = world();
    await bridge.add(req({ ipMasq: true }), w.deps);
    await bridge.add({ ...req({ ipMasq: true, ipam: { type: 'host-local', subnet: '10.246.10.0/24' } }), containerId: 'c2', ifName: 'eth1' }, w.deps);
    const gcReq = req({ ipMasq: true, 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth1' }] }, 'GC');
    await bridge.gc!(gcReq, w.deps);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-u', 'c1'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-u', 'c2'))).toHaveLength(2);
    expect(w.store.all().map((a) => a.id)).toEqual(['c2']);
  });
});

describe('loopback plugin on fakes', () => {
  it('sets lo up in the netns, reports its addresses, passes prevResult through, and DEL tolerates a gone netns', async () => {
    const w = world();
    w.netlink.ns(NETNS).addrs.push({ index: 1, family: 4, address: '127.0.0.1', prefixLen: 8, scope: 254, flags: 0 });
    const r = await loopback.add(req({ type: 'loopback' }), w.deps);
    expect(r).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: NETNS }], ips: [{ interface: 0, address: '127.0.0.1/8' }], dns: {} });
    expect(w.netlink.log).toContain(`${NETNS}:setUp lo true`);
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.246.10.9/24' }] };
    expect(await loopback.add(req({ type: 'loopback', prevResult: prev }), w.deps)).toEqual(prev);
    w.netlink.namespaces.delete(NETNS);
    await expect(loopback.del(req({ type: 'loopback' }, 'DEL'), w.deps)).resolves.toBeUndefined();
  });
});
