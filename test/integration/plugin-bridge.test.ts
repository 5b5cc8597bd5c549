import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { confListFromBytes } from '../../src/network/cni/conf.js';
import { RealPluginExec } from '../../src/network/cni/exec.js';
import { gcNetworkList } from '../../src/network/cni/maintenance.js';
import { chainName } from '../../src/network/plugins/ipmasq.js';
import { InProcessPluginExec } from '../../src/network/plugins/in-process-exec.js';
import { cleanup, isRoot, ok, ping, sh } from '../helpers/netns.js';

// Differential: the same conflists through the reference binaries and through
// tsrun's in-process plugins, one after the other on the same names, compared
// by result and by kernel state (links, addresses, routes, nat rules).
// Names: netns tsp6-b1/tsp6-b2, bridges tsp6br0b, subnets 10.246.7-9.0/24.
const NS = ['tsp6-b1', 'tsp6-b2'];
const BR = 'tsp6br0b';
let tmp: string;
const ref = () => new CniClient({ path: ['/usr/lib/cni'], cacheDir: join(tmp, 'cache-ref'), forceExec: true });
const ours = () => new CniClient({ path: ['/usr/lib/cni'], cacheDir: join(tmp, 'cache-ts'), exec: new InProcessPluginExec(new RealPluginExec()) });
const rt = (ns = NS[0]!, containerId = 'tsp6-bc1') => ({ containerId, netns: `/run/netns/${ns}`, ifName: 'eth0' });
const natLines = (needle: string) => sh('iptables', ['-t', 'nat', '-S']).split('\n').filter((l) => l.includes(needle)).sort();

function list(name: string, plugin: object, version = '1.0.0') {
  const ipam = { type: 'host-local', dataDir: join(tmp, 'ipam') };
  const p = plugin as { ipam?: object };
  return confListFromBytes(Buffer.from(JSON.stringify({ cniVersion: version, name, plugins: [{ type: 'bridge', bridge: BR, ...plugin, ...(p.ipam ? { ipam: { ...ipam, ...p.ipam } } : {}) }] })));
}

/** What the kernel shows for the attachment, with generated names, MACs, indexes and lifetimes taken out. */
function kernelState(ns: string, chain: string): Record<string, string[]> {
  const norm = (s: string) => s.split('\n').map((l) => l
    .replace(/veth[0-9a-f]{8}/g, 'vethX').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/^\d+: /, '')
    .replace(/link-netns(id)? \S+/g, '').replace(/@if\d+/g, '@ifN').replace(/ qlen \d+/g, '').replace(/ (valid|preferred)_lft \S+/g, '').replace(/\\\s+/g, ' ').replace(/\s+/g, ' ').trim()).filter(Boolean).sort();
  const ports = sh('ip', ['-o', 'link', 'show', 'master', BR]);
  const port = /: (veth[0-9a-f]{8})@/.exec(ports)?.[1];
  return {
    contLinks: norm(sh('ip', ['-n', ns, '-o', 'link', 'show', 'dev', 'eth0'])),
    contAddrs: norm(sh('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'])).filter((l) => !l.includes('fe80')),
    contRoutes: norm(sh('ip', ['-n', ns, '-4', 'route']) + '\n' + sh('ip', ['-n', ns, '-6', 'route']).split('\n').filter((l) => !l.includes('fe80')).join('\n')),
    bridge: norm(sh('ip', ['-o', 'link', 'show', 'dev', BR]).replace(/state \S+/, '')),
    bridgeAddrs: norm(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BR])),
    ports: norm(ports),
    hairpin: port ? [sh('cat', [`/sys/class/net/${port}/brport/hairpin_mode`])] : [],
    nat: natLines(chain),
  };
}

const withoutMacs = (r: unknown) => JSON.parse(JSON.stringify(r).replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/veth[0-9a-f]{8}/g, 'vethX'));

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsp6-br-'));
  for (const n of NS) sh('ip', ['netns', 'add', n]);
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: NS, links: [BR] });
  for (const l of natLines('tsp6-b')) ok('sh', ['-c', `iptables -t nat ${l.replace(/^-A /, '-D ')}`]);
  for (const c of [chainName('tsp6-bm', 'tsp6-bc1'), chainName('tsp6-bm', 'tsp6-bgone'), chainName('tsp6-bg', 'tsp6-bc1'), chainName('tsp6-bg', 'tsp6-bgstale')]) ok('sh', ['-c', `iptables -t nat -F ${c} && iptables -t nat -X ${c}`]);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('bridge: tsrun in-process against the reference', () => {
  const cases: [string, ReturnType<typeof list>][] = [];
  beforeAll(() => {
    if (!isRoot) return;
    cases.push(
      ['gateway + ipMasq + hairpin + mtu', list('tsp6-bm', { isGateway: true, ipMasq: true, hairpinMode: true, mtu: 1400, ipam: { subnet: '10.246.7.0/24', routes: [{ dst: '0.0.0.0/0' }] } })],
      ['default gateway + promisc, 0.4.0', list('tsp6-bd', { isDefaultGateway: true, promiscMode: true, ipam: { subnet: '10.246.8.0/24' } }, '0.4.0')],
      ['layer 2 + dual stack, no gateway', list('tsp6-b6', { ipam: { ranges: [[{ subnet: '10.246.9.0/24' }], [{ subnet: 'fd00:246:9::/64' }]] } })],
      ['explicit DNS, 0.3.1', list('tsp6-bn', { isGateway: true, dns: { nameservers: ['10.246.7.53'] }, ipam: { subnet: '10.246.7.0/24' } }, '0.3.1')],
    );
  });

  it.each([0, 1, 2, 3])('case %i: same result and kernel state', async (i) => {
    const [, l] = cases[i]!;
    const chain = chainName(l.name, rt().containerId);
    const r1 = await ref().addNetworkList(l, rt());
    const s1 = kernelState(NS[0]!, chain);
    await ref().delNetworkList(l, rt());
    ok('ip', ['link', 'del', BR]);
    rmSync(join(tmp, 'ipam', l.name), { recursive: true, force: true }); // same cursor for both
    const r2 = await ours().addNetworkList(l, rt());
    const s2 = kernelState(NS[0]!, chain);
    if (i === 0) expect(ping(NS[0]!, '10.246.7.1')).toBe(true);
    await ours().delNetworkList(l, rt());
    ok('ip', ['link', 'del', BR]);
    expect(withoutMacs(r2)).toEqual(withoutMacs(r1));
    expect(s2).toEqual(s1);
    // DEL left nothing: no veth, no rules, no addresses
    expect(sh('ip', ['-n', NS[0]!, '-o', 'link']).includes('eth0')).toBe(false);
    expect(natLines(chain)).toEqual([]);
    expect(readdirSync(join(tmp, 'ipam', l.name)).filter((f) => /^\d|:/.test(f))).toEqual([]);
  });

  it('fails like the reference when the bridge has another address, and replaces it with forceAddress', async () => {
    sh('ip', ['link', 'add', BR, 'type', 'bridge']);
    sh('ip', ['addr', 'add', '10.246.7.254/24', 'dev', BR]);
    const l = list('tsp6-bf', { isGateway: true, ipam: { subnet: '10.246.7.0/24' } });
    const e1 = await ref().addNetworkList(l, rt()).catch((e) => e);
    const e2 = await ours().addNetworkList(l, rt()).catch((e) => e);
    expect(e2.cniCode).toBe(e1.cniCode);
    expect(e2.message).toContain(`"${BR}" already has an IP address different from 10.246.7.1/24`);
    await ref().delNetworkList(l, rt()).catch(() => {});
    const f = list('tsp6-bf', { isGateway: true, forceAddress: true, ipam: { subnet: '10.246.7.0/24' } });
    await ours().addNetworkList(f, rt());
    expect(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BR])).toContain('10.246.7.1/24');
    expect(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BR])).not.toContain('10.246.7.254');
    await ours().delNetworkList(f, rt());
    ok('ip', ['link', 'del', BR]);
  });
});

describe.skipIf(!isRoot)('bridge: IPAM that is not built in', () => {
  it('in-process bridge execs the reference static IPAM from CNI_PATH', async () => {
    const l = confListFromBytes(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'tsp6-bs', plugins: [{ type: 'bridge', bridge: BR, ipam: { type: 'static', addresses: [{ address: '10.246.8.50/24' }] } }] })));
    const r = await ours().addNetworkList(l, rt());
    expect(r).toMatchObject({ ips: [{ address: '10.246.8.50/24', interface: 2 }] });
    expect(sh('ip', ['-n', NS[0]!, '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain('10.246.8.50/24');
    await ours().delNetworkList(l, rt());
    expect(sh('ip', ['-n', NS[0]!, '-o', 'link']).includes('eth0')).toBe(false);
    ok('ip', ['link', 'del', BR]);
  });
});

describe.skipIf(!isRoot)('bridge: nothing leaks', () => {
  it('DEL after the netns is gone still releases the IP and the masquerade rules', async () => {
    const l = list('tsp6-bm', { isGateway: true, ipMasq: true, ipam: { subnet: '10.246.7.0/24' } });
    const r = rt(NS[1]!, 'tsp6-bgone');
    await ours().addNetworkList(l, r);
    const chain = chainName(l.name, r.containerId);
    expect(natLines(chain).length).toBe(4); // -N and three rules
    sh('ip', ['netns', 'del', NS[1]!]);
    await ours().delNetworkList(l, r);
    await ours().delNetworkList(l, r); // and again: still fine
    expect(natLines(chain)).toEqual([]);
    expect(readdirSync(join(tmp, 'ipam', l.name)).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(sh('ip', ['-o', 'link', 'show', 'master', BR]).trim()).toBe('');
    sh('ip', ['netns', 'add', NS[1]!]);
  });

  it('GC (1.1.0) finds a stale attachment the cache forgot: releases its IP and masquerade chain, keeps the valid one', async () => {
    const l = list('tsp6-bg', { isGateway: true, ipMasq: true, ipam: { subnet: '10.246.9.0/24' } }, '1.1.0');
    const stale = rt(NS[1]!, 'tsp6-bgstale');
    ok('ip', ['link', 'del', BR]);
    await ours().addNetworkList(l, rt());
    await ours().addNetworkList(l, stale);
    sh('ip', ['netns', 'del', NS[1]!]);
    rmSync(join(tmp, 'cache-ts'), { recursive: true, force: true }); // the runtime lost its cache
    await gcNetworkList(ours(), l, [{ containerID: 'tsp6-bc1', ifname: 'eth0' }]);
    expect(natLines(chainName(l.name, stale.containerId))).toEqual([]);
    expect(natLines(chainName(l.name, 'tsp6-bc1'))).toHaveLength(4);
    expect(readdirSync(join(tmp, 'ipam', l.name)).filter((f) => /^\d/.test(f))).toEqual(['10.246.9.2']);
    sh('ip', ['netns', 'add', NS[1]!]);
    await ours().delNetworkList(l, rt());
    expect(natLines(chainName(l.name, 'tsp6-bc1'))).toEqual([]);
    ok('ip', ['link', 'del', BR]);
  });

  it('a failure midway (a route IPAM cannot install) removes the veth and releases the IP', async () => {
    const l = list('tsp6-bx', { isGateway: true, ipMasq: true, ipam: { subnet: '10.246.8.0/24', routes: [{ dst: '10.99.0.0/16', gw: '10.250.0.1' }] } });
    const err = await ours().addNetworkList(l, rt()).catch((e) => e);
    expect(err.message).toMatch(/failed to add route '10.99.0.0\/16 via 10.250.0.1 dev eth0'/);
    expect(sh('ip', ['-n', NS[0]!, '-o', 'link']).includes('eth0')).toBe(false);
    expect(sh('ip', ['-o', 'link', 'show', 'master', BR]).trim()).toBe('');
    expect(existsSync(join(tmp, 'ipam', 'tsp6-bx', '10.246.8.2'))).toBe(false);
    expect(natLines(chainName('tsp6-bx', 'tsp6-bc1'))).toEqual([]);
  });
});
