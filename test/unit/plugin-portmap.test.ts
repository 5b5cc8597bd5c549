import { describe, expect, it } from 'vitest';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { FakeIptables } from '../../src/network/plugins/fake-iptables.js';
import { chainName } from '../../src/network/plugins/ipmasq.js';
import { portmap } from '../../src/network/plugins/portmap/index.js';
import { portmapShared } from '../../src/network/plugins/portmap/prune.js';
import { pruneShared } from '../../src/network/plugins/prune.js';
import type { PluginDeps, PluginRequest } from '../../src/network/plugins/skel.js';
import { FakeSyscalls } from '../../src/sys/fake.js';

// portmap on fakes: the chains it writes, one listing + one restore per
// family, teardown by chain name, and rollback when the restore fails.
function world() {
  const netlink = new FakeNetlinkOpener();
  const host = netlink.open();
  const br = host.addBridge('tsp6br0p');
  host.addRoute({ dst: '10.246.15.0/24', oif: br.index });
  const iptables = new FakeIptables();
  const sysctls: string[] = [];
  const deps: PluginDeps = {
    sys: new FakeSyscalls(), netlink, iptables, sysctl: (_ns, k, v) => void sysctls.push(`${k}=${v}`),
    ipam: async () => ({}), random: () => Buffer.alloc(4),
  };
  return { deps, iptables, sysctls };
}

const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.246.15.2/24', gateway: '10.246.15.1' }] };
const req = (command: PluginRequest['command'], conf: object = {}): PluginRequest => ({
  command, containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', args: '', path: [],
  conf: { cniVersion: '0.4.0', name: 'tsp6-pmu', type: 'portmap', prevResult, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp' }] }, ...conf },
});

describe('portmap on fakes', () => {
  it('creates the shared chains, a DN chain with hairpin/localhost marks and DNAT, and sets route_localnet', async () => {
    const w = world();
    const r = await portmap.add(req('ADD'), w.deps);
    expect(r).toEqual({ cniVersion: '0.4.0', ips: [{ address: '10.246.15.2/24', gateway: '10.246.15.1', version: '4' }], dns: {} });
    const chain = chainName('tsp6-pmu', 'c1', 'DN-');
    expect(chain).toMatch(/^CNI-DN-[0-9a-f]{21}$/);
    expect(w.iptables.rules(4, 'nat', chain)!.map((x) => x.split('\0').join(' '))).toEqual([
      '-p tcp --dport 8080 -s 10.246.15.0/24 -j CNI-HOSTPORT-SETMARK',
      '-p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK',
      '-p tcp --dport 8080 -j DNAT --to-destination 10.246.15.2:80',
      '-p udp --dport 5353 -s 10.246.15.0/24 -j CNI-HOSTPORT-SETMARK',
      '-p udp --dport 5353 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK',
      '-p udp --dport 5353 -j DNAT --to-destination 10.246.15.2:53',
    ]);
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toHaveLength(2);
    expect(w.iptables.rules(4, 'nat', 'PREROUTING')).toHaveLength(1);
    expect(w.sysctls).toEqual(['net.ipv4.conf.tsp6br0p.route_localnet=1']);
    // IPv4 only: no ip6tables work beyond nothing
    expect(w.iptables.calls.filter((c) => c.startsWith('6'))).toEqual([]);
    // a second container reuses the shared chains
    await portmap.add({ ...req('ADD'), containerId: 'c2' }, w.deps);
    expect(w.iptables.rules(4, 'nat', 'PREROUTING')).toHaveLength(1);
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toHaveLength(4);
  });

  it('DEL removes the container chain and its entries knowing only name and container id; twice is fine', async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    await portmap.del({ ...req('DEL'), conf: { cniVersion: '0.4.0', name: 'tsp6-pmu', type: 'portmap' } }, w.deps);
    await portmap.del(req('DEL'), w.deps);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c1', 'DN-'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toEqual([]);
  });

  it('DEL with the mappings and prevResult: one restore without listing; a leftover entry falls back to listing', async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    const before = w.iptables.calls.length;
    await portmap.del(req('DEL'), w.deps);
    expect(w.iptables.calls.slice(before).filter((c) => c.endsWith(' -S'))).toEqual([]);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c1', 'DN-'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toEqual([]);
    // ADD with other mappings, DEL with these: the fast batch fails as a whole, the listing finds the real entries
    await portmap.add(req('ADD', { runtimeConfig: { portMappings: [{ hostPort: 9090, containerPort: 90, protocol: 'sctp' }] } }), w.deps);
    await portmap.del(req('DEL'), w.deps);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c1', 'DN-'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toEqual([]);
  });

  it('GC drops the DNAT chains of containers that are not valid any more', async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    await portmap.add({ ...req('ADD'), containerId: 'c2' }, w.deps);
    await portmap.gc!({ ...req('GC'), conf: { cniVersion: '1.1.0', name: 'tsp6-pmu', type: 'portmap', 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] } }, w.deps);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c1', 'DN-'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c2', 'DN-'))).toHaveLength(6);
  });

  it('a failed restore leaves no container chain behind', async () => {
    const w = world();
    w.iptables.failWhen = '--to-destination 10.246.15.2:53';
    await expect(portmap.add(req('ADD'), w.deps)).rejects.toThrow(/iptables-restore failed/);
    expect(w.iptables.rules(4, 'nat', chainName('tsp6-pmu', 'c1', 'DN-'))).toBeUndefined();
    expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')).toBeUndefined(); // made in the same batch: atomic, so never there
  });

  it('needs a prevResult and valid ports; no mappings is a pass-through', async () => {
    const w = world();
    await expect(portmap.add({ ...req('ADD'), conf: { cniVersion: '1.0.0', name: 'n', type: 'portmap' } }, w.deps)).rejects.toThrow(/must be called as chained plugin/);
    await expect(portmap.add(req('ADD', { runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 1 }] } }), w.deps)).rejects.toThrow(/Invalid host port number: 0/);
    await portmap.add(req('ADD', { runtimeConfig: {} }), w.deps);
    expect(w.iptables.calls).toEqual([]);
  });
});

describe('pruning the shared chains (tsrun net prune)', () => {
  const shared = (w: ReturnType<typeof world>) => ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'].filter((c) => w.iptables.rules(4, 'nat', c));
  const builtinJumps = (w: ReturnType<typeof world>) => ['PREROUTING', 'OUTPUT', 'POSTROUTING'].flatMap((c) => w.iptables.rules(4, 'nat', c)!);

  it('keeps them while a container publishes a port, removes them and their jumps after its DEL, and then has nothing to do', async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    const kept = await pruneShared(w.iptables, 4, 'nat', portmapShared());
    expect(kept.removed).toEqual([]);
    expect(kept.kept.join('\n')).toMatch(/CNI-HOSTPORT-DNAT holds 2 rule/);
    expect(kept.kept.join('\n')).toMatch(/CNI-HOSTPORT-SETMARK is referred to by 4 rule/);
    expect(shared(w)).toHaveLength(3);
    await portmap.del(req('DEL'), w.deps);
    expect(await pruneShared(w.iptables, 4, 'nat', portmapShared())).toEqual({ family: 4, table: 'nat', removed: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'], kept: [] });
    expect(shared(w)).toEqual([]);
    expect(builtinJumps(w)).toEqual([]);
    expect(await pruneShared(w.iptables, 4, 'nat', portmapShared())).toEqual({ family: 4, table: 'nat', removed: [], kept: [] });
    expect(await pruneShared(w.iptables, 6, 'nat', portmapShared())).toEqual({ family: 6, table: 'nat', removed: [], kept: [] });
  });

  it("leaves all three when another tool's rule uses one, or the mark differs", async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    await portmap.del(req('DEL'), w.deps);
    await w.iptables.run(4, ['-t', 'nat', '-A', 'PREROUTING', '-i', 'tsp6x', '-j', 'CNI-HOSTPORT-DNAT']);
    const r = await pruneShared(w.iptables, 4, 'nat', portmapShared());
    expect(r.removed).toEqual([]);
    expect(r.kept).toEqual(['CNI-HOSTPORT-DNAT is referred to by 1 rule(s) besides portmap\'s own jumps: -A PREROUTING -i tsp6x -j CNI-HOSTPORT-DNAT']);
    expect(shared(w)).toHaveLength(3);
    await w.iptables.run(4, ['-t', 'nat', '-D', 'PREROUTING', '-i', 'tsp6x', '-j', 'CNI-HOSTPORT-DNAT']);
    expect((await pruneShared(w.iptables, 4, 'nat', portmapShared(14))).kept.join('\n')).toMatch(/CNI-HOSTPORT-MASQ holds 1 rule.*--mark 0x2000\/0x2000/);
    expect(shared(w)).toHaveLength(3);
  });

  it('changes nothing when the kernel refuses the transaction', async () => {
    const w = world();
    await portmap.add(req('ADD'), w.deps);
    await portmap.del(req('DEL'), w.deps);
    const before = builtinJumps(w);
    w.iptables.failWhen = '-X CNI-HOSTPORT-SETMARK';
    const r = await pruneShared(w.iptables, 4, 'nat', portmapShared());
    expect(r.removed).toEqual([]);
    expect(r.kept.join('\n')).toMatch(/the kernel refused the removal/);
    expect(shared(w)).toHaveLength(3);
    expect(builtinJumps(w)).toEqual(before);
  });
});
