import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultCache, type CacheEntry } from '../../src/network/cni/cache.js';
import { encodeAttrs, ifinfomsg, nest, str, u32, u8 } from '../../src/network/rtnetlink/codec.js';
import { AF, IFLA, IFLA_BRPORT_MODE, NETNSA } from '../../src/network/rtnetlink/constants.js';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import * as m from '../../src/network/rtnetlink/messages.js';
import { collect, type ShowTarget } from '../../src/network/show/collect.js';
import { dnsFileCandidates } from '../../src/network/show/dns.js';
import { renderMermaid } from '../../src/network/show/mermaid.js';
import type { AttachmentView, NetView } from '../../src/network/show/model.js';
import { dnatsOf, parseSave, portmapOf } from '../../src/network/show/rules.js';
import { renderText } from '../../src/network/show/text.js';

// net show on the in-memory rtnetlink and iptables-save text: the view it
// builds, and each disagreement between cache and kernel it must report.

const NS = '/fake/netns/u1';
const CONFLIST = {
  cniVersion: '1.0.0',
  name: 'unet',
  plugins: [
    { type: 'bridge', bridge: 'ubr0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet: '10.9.0.0/24' } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall' },
  ],
};
const MASQ = 'CNI-287a611b87170e26e175eb6c'; // chainName('unet', 'u1'), checked below
const DN = 'CNI-DN-287a611b87170e26e175e';

const save = (dnat = true) =>
  [
    '*nat',
    `-A POSTROUTING -s 10.9.0.2/32 -m comment --comment "name: \\"unet\\" id: \\"u1\\"" -j ${MASQ}`,
    `-A ${MASQ} -d 10.9.0.0/24 -m comment --comment "name: \\"unet\\" id: \\"u1\\"" -j ACCEPT`,
    `-A ${MASQ} ! -d 224.0.0.0/4 -m comment --comment "name: \\"unet\\" id: \\"u1\\"" -j MASQUERADE`,
    `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"unet\\" id: \\"u1\\"" -m multiport --dports 18001 -j ${DN}`,
    ...(dnat ? [`-A ${DN} -p tcp -m tcp --dport 18001 -j DNAT --to-destination 10.9.0.2:80`] : []),
    'COMMIT',
    '*filter',
    '-A CNI-FORWARD -d 10.9.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A CNI-FORWARD -s 10.9.0.2/32 -j ACCEPT',
    '-A CNI-FORWARD -s 10.9.0.3/32 -j ACCEPT',
    'COMMIT',
  ].join('\n');

let dir: string;
let world: FakeNetlinkOpener;
let entry: CacheEntry;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsu17-show-'));
  world = new FakeNetlinkOpener();
  world.addNamespace(NS);
  const host = world.open();
  const br = host.addBridge('ubr0');
  host.addAddr(br.index, '10.9.0.1/24');
  const veth = host.addVeth('vethu1', { name: 'eth0', netns: NS });
  host.setMaster(veth.index, br.index);
  host.setHairpin(veth.index, true);
  const ns = world.open(NS);
  const eth0 = ns.linkByName('eth0')!;
  ns.setUp(eth0.index, true);
  ns.addAddr(eth0.index, '10.9.0.2/24');
  ns.addRoute({ dst: '0.0.0.0/0', gateway: '10.9.0.1' });
  entry = {
    network: 'unet',
    containerId: 'u1',
    ifName: 'eth0',
    netns: NS,
    config: Buffer.from(JSON.stringify(CONFLIST)),
    capabilityArgs: { portMappings: [{ hostPort: 18001, containerPort: 80, protocol: 'tcp' }] },
    result: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'ubr0' }, { name: 'vethu1', mac: veth.mac }, { name: 'eth0', mac: eth0.mac, sandbox: NS }],
      ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 2 }],
      dns: { nameservers: ['10.9.0.53'] },
    },
  };
  new ResultCache(dir).write(entry);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const target = (): ShowTarget => ({ mode: 'cni', netnsPath: NS, entries: [{ entry, file: new ResultCache(dir).fileFor(entry) }], dns: {} });
const show = (text = save()) => collect({ netlink: world, iptablesSave: (f) => (f === 4 ? text : undefined) }, target());

describe('net show, cache next to the kernel', () => {
  it('names the chains as the plugins do', async () => {
    const { chainName } = await import('../../src/network/plugins/ipmasq.js');
    expect(chainName('unet', 'u1')).toBe(MASQ);
    expect(chainName('unet', 'u1', 'DN-')).toBe(DN);
  });

  it('finds every element when all is in place, and reports no problem', () => {
    const v = show();
    expect(v.netns!.interfaces.map((i) => i.name)).toEqual(['lo', 'eth0']);
    expect(v.netns!.defaultGateways).toEqual(['10.9.0.1']);
    expect(v.netns!.routes).toContainEqual({ dst: 'default', gateway: '10.9.0.1' });
    const [a] = v.attachments;
    expect(a!.plugins).toEqual(['bridge', 'portmap', 'firewall']);
    expect(a!.container).toMatchObject({ name: 'eth0', up: true, addresses: ['10.9.0.2/24'] });
    expect(a!.hostVeth).toMatchObject({ name: 'vethu1', master: 'ubr0', hairpin: true });
    expect(a!.bridge).toMatchObject({ name: 'ubr0', addresses: ['10.9.0.1/24'] });
    expect(a!.masquerade).toMatchObject({ table: 'nat', chain: MASQ });
    expect(a!.masquerade!.entries).toHaveLength(1);
    expect(a!.masquerade!.rules).toHaveLength(2);
    expect(a!.portmap!.chain).toBe(DN);
    expect(a!.ports).toEqual([{ protocol: 'tcp', hostPort: 18001, containerPort: 80, to: '10.9.0.2:80' }]);
    expect(a!.firewall).toEqual(['-A CNI-FORWARD -d 10.9.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A CNI-FORWARD -s 10.9.0.2/32 -j ACCEPT']);
    expect(a!.problems).toEqual([]);
    expect(v.problems).toEqual([]);
    expect(renderText(v)).toContain('the cache and the kernel agree');
  });

  it('reports a deleted host veth (its container end goes with it) as missing', () => {
    const host = world.open();
    host.delLink(host.linkByName('vethu1')!.index);
    const [a] = show().attachments;
    expect(a!.container).toBeUndefined();
    expect(a!.hostVeth).toBeUndefined();
    expect(a!.problems).toContain("eth0 is not in the container's network namespace (the cache says it should be)");
    expect(a!.problems).toContain('host veth vethu1 is gone');
    const text = renderText(show());
    expect(text).toContain('container  eth0 MISSING');
    expect(text).toContain('PROBLEM    host veth vethu1 is gone');
    expect(renderMermaid(show())).toContain('vethu1 · veth<br/>MISSING"]:::missing');
  });

  it('reports a missing DNAT rule, a missing masquerade chain, a missing bridge and a lost address', () => {
    expect(show(save(false)).attachments[0]!.problems).toEqual(['published port tcp/18001 has no DNAT rule']);
    expect(show('*nat\nCOMMIT\n*filter\nCOMMIT\n').attachments[0]!.problems).toEqual([
      'masquerade chain for unet/u1 is missing (ipMasq is on)',
      'published port tcp/18001 has no DNAT rule',
      'the firewall plugin is in the chain, but no host rule names 10.9.0.2',
    ]);
    const ns = world.open(NS);
    ns.delAddr(ns.linkByName('eth0')!.index, '10.9.0.2/24');
    const host = world.open();
    host.setMaster(host.linkByName('vethu1')!.index, 0);
    host.delLink(host.linkByName('ubr0')!.index);
    expect(show().attachments[0]!.problems).toEqual(['10.9.0.2/24 (cached) is not on eth0', 'bridge ubr0 is gone', 'host veth vethu1 is not a port of ubr0']);
  });

  it('draws a bridge that is gone as a MISSING node, still between the host and the veth', () => {
    const host = world.open();
    host.setMaster(host.linkByName('vethu1')!.index, 0);
    host.delLink(host.linkByName('ubr0')!.index);
    const v = show();
    expect(v.attachments[0]!.bridge).toBeUndefined();
    expect(v.attachments[0]!.bridgeName).toBe('ubr0');
    expect(renderText(v)).toContain('bridge     ubr0 MISSING');
    const mm = renderMermaid(v);
    expect(mm).toContain('br_ubr0["ubr0 · bridge<br/>MISSING"]:::missing');
    expect(mm).toContain('host -->|"no address"| br_ubr0');
    expect(mm).toContain('br_ubr0 --- v0_vethu1');
    expect(mm).toContain('v0_vethu1["vethu1 · veth"]'); // live, no longer a bridge port
    // with its veth gone too, the veth is still the cache's vethu1, not the bridge
    host.delLink(host.linkByName('vethu1')!.index);
    expect(renderMermaid(show())).toContain('v0_vethu1["vethu1 · veth<br/>MISSING"]:::missing');
  });

  it('draws an interface without veth or address (macvlan, no IPAM) with its kind on the edge, never an empty label', () => {
    const eth0 = { index: 2, name: 'eth0', kind: 'macvlan', mac: '02:00:00:00:00:02', mtu: 1500, up: true, addresses: [] };
    const attachment = (container?: typeof eth0): AttachmentView => ({
      network: 'umv', ifName: 'eth0', containerId: 'u1', cacheFile: '/c/umv-u1-eth0', plugins: ['macvlan'],
      cached: { interfaces: [{ name: 'eth0', sandbox: NS }], ips: [], routes: [] },
      ...(container ? { container } : {}), ports: [], firewall: [], problems: [],
    });
    const view = (a: AttachmentView): NetView => ({ mode: 'cni', netns: { path: NS, interfaces: a.container ? [a.container] : [], routes: [], defaultGateways: [] }, attachments: [a], dns: [], problems: [], notes: [] });
    const mm = renderMermaid(view(attachment(eth0)));
    expect(mm).toContain('host -->|"macvlan"| c0_eth0');
    expect(mm).not.toContain('|""|');
    // nothing known about it at all: an edge without a label
    const bare = renderMermaid(view(attachment()));
    expect(bare).toContain('host --> c0_eth0');
    expect(bare).not.toContain('|""|');
  });

  it("reports cached nameservers the container's resolv.conf lacks", () => {
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.9.0.99\n');
    const t = { ...target(), dns: { stateDir: dir } };
    const v = collect({ netlink: world, iptablesSave: () => save() }, t);
    expect(v.dns[0]).toEqual({ name: '/etc/resolv.conf', path: join(dir, 'resolv.conf'), text: 'nameserver 10.9.0.99\n' });
    expect(v.attachments[0]!.problems).toEqual(["the cached DNS names 10.9.0.53, the container's /etc/resolv.conf does not"]);
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.9.0.53\n');
    expect(collect({ netlink: world, iptablesSave: () => save() }, t).attachments[0]!.problems).toEqual([]);
  });

  it('reports an interface no cache entry accounts for', () => {
    const ns = world.open(NS);
    world.open().addVeth('vethx', { name: 'eth1', netns: NS });
    expect(ns.linkByName('eth1')).toBeDefined();
    expect(show().problems).toEqual(["eth1 is in the container's namespace but in no CNI cache entry (not added by CNI, or its cache entry is gone)"]);
  });

  it('draws host → bridge → veth pair → eth0 with addresses on the edges and the port inbound', () => {
    const mm = renderMermaid(show());
    expect(mm.split('\n')[0]).toBe('flowchart LR');
    expect(mm).toContain('host -->|"10.9.0.1/24"| br_ubr0');
    expect(mm).toContain('br_ubr0 --- v0_vethu1');
    expect(mm).toContain('v0_vethu1 <-->|"10.9.0.2/24"| c0_eth0');
    expect(mm).toContain('p0_0>":18001/tcp"] ==>|"DNAT 10.9.0.2:80"| c0_eth0');
    expect(mm).toContain(`c0_eth0 -.->|"masquerade ${MASQ}"| host`);
    expect(mm).toMatch(/subgraph netns\["\/fake\/netns\/u1 · network namespace"\]/);
  });

  it('shows a host-network container without reading a namespace', () => {
    const v = collect({ netlink: world, iptablesSave: () => undefined }, { mode: 'host', entries: [], dns: {}, container: { id: 'h', status: 'running', pid: 1 } });
    expect(v.netns).toBeUndefined();
    expect(renderText(v)).toContain("the host's network namespace (--net host)");
    expect(renderMermaid(v)).toContain("shares the host's network namespace");
  });
});

describe('net show helpers', () => {
  it('reads DNAT rules of a portmap chain', () => {
    const rs = parseSave(save());
    expect(dnatsOf(portmapOf(rs, 'unet', 'u1'))).toEqual([{ protocol: 'tcp', hostPort: 18001, to: '10.9.0.2:80' }]);
    expect(portmapOf(rs, 'unet', 'other')).toBeUndefined();
  });

  it('looks for DNS files where the container sees them first, then where the runtime writes them', () => {
    expect(dnsFileCandidates({ pid: 7, stateDir: '/s/c', rootfs: '/b/rootfs' }, 'resolv.conf')).toEqual(['/proc/7/root/etc/resolv.conf', '/s/c/resolv.conf', '/b/rootfs/etc/resolv.conf']);
  });

  it('parses an AF_BRIDGE port with hairpin, and an RTM_NEWNSID reply', () => {
    const port = Buffer.concat([ifinfomsg(AF.BRIDGE, 9), encodeAttrs([str(IFLA.IFNAME, 'veth9'), u32(IFLA.MASTER, 4), nest(IFLA.PROTINFO, [u8(IFLA_BRPORT_MODE, 1)], true)])]);
    expect(m.parseBridgePort(port)).toEqual({ index: 9, name: 'veth9', master: 4, hairpin: true });
    const reply = (id: number) => Buffer.concat([Buffer.alloc(4), encodeAttrs([u32(NETNSA.NSID, id)])]);
    expect(m.parseNsid(reply(3))).toBe(3);
    expect(m.parseNsid(reply(0xffffffff))).toBeUndefined();
    const req = m.getNsid(12);
    expect(req.header).toEqual(Buffer.alloc(4));
  });
});
