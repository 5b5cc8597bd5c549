import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { confListFromBytes } from '../../src/network/cni/conf.js';
import { RealPluginExec } from '../../src/network/cni/exec.js';
import { chainName } from '../../src/network/plugins/ipmasq.js';
import { InProcessPluginExec } from '../../src/network/plugins/in-process-exec.js';
import { cleanup, isRoot, ok, ping, sh } from '../helpers/netns.js';

// Differential ptp and loopback: reference binaries, then tsrun in-process, on
// the same names; results and kernel state compared. Names: netns tsp6-p1/p2,
// subnet 10.246.11.0/24.
const NS = ['tsp6-p1', 'tsp6-p2'];
let tmp: string;
const ref = () => new CniClient({ path: ['/usr/lib/cni'], cacheDir: join(tmp, 'cache-ref'), forceExec: true });
const ours = () => new CniClient({ path: ['/usr/lib/cni'], cacheDir: join(tmp, 'cache-ts'), exec: new InProcessPluginExec(new RealPluginExec()) });
const rt = (ns = NS[0]!, containerId = 'tsp6-pc1') => ({ containerId, netns: `/run/netns/${ns}`, ifName: 'eth0' });
const natLines = (needle: string) => sh('iptables', ['-t', 'nat', '-S']).split('\n').filter((l) => l.includes(needle)).sort();
const conflist = (name: string, plugins: object[], cniVersion = '1.0.0') => confListFromBytes(Buffer.from(JSON.stringify({ cniVersion, name, plugins })));
const ptpConf = (name: string, version: string, extra: object = {}) =>
  conflist(name, [{ type: 'ptp', ipMasq: true, mtu: 1420, ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.246.11.0/24', routes: [{ dst: '0.0.0.0/0' }] }, ...extra }], version);
const norm = (s: string) => s.split('\n').map((l) => l.replace(/veth[0-9a-f]{8}/g, 'vethX').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/^\d+: /, '')
  .replace(/@if\d+/g, '@ifN').replace(/ qlen \d+/g, '').replace(/link-netns(id)? \S+/g, '').replace(/ (valid|preferred)_lft \S+/g, '').replace(/\\\s+/g, ' ').replace(/\s+/g, ' ').trim()).filter(Boolean).sort();
const withoutMacs = (r: unknown) => JSON.parse(JSON.stringify(r).replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/veth[0-9a-f]{8}/g, 'vethX'));

function kernelState(ns: string, chain: string) {
  const hostVeth = /(veth[0-9a-f]{8})@/.exec(sh('ip', ['-o', 'link', 'show', 'type', 'veth']).split('\n').find((l) => l.includes(`link-netns ${ns}`)) ?? '')?.[1];
  return {
    contLinks: norm(sh('ip', ['-n', ns, '-o', 'link'])),
    contAddrs: norm(sh('ip', ['-n', ns, '-o', '-4', 'addr'])),
    contRoutes: norm(sh('ip', ['-n', ns, '-4', 'route'])),
    hostAddrs: hostVeth ? norm(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', hostVeth])) : ['no host veth'],
    hostRoutes: hostVeth ? norm(sh('ip', ['-4', 'route', 'show', 'dev', hostVeth])) : [],
    nat: natLines(chain),
  };
}

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsp6-ptp-'));
  for (const n of NS) sh('ip', ['netns', 'add', n]);
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: NS });
  for (const l of natLines('tsp6-p')) ok('sh', ['-c', `iptables -t nat ${l.replace(/^-A /, '-D ')}`]);
  for (const c of [chainName('tsp6-ptp', 'tsp6-pc1'), chainName('tsp6-ptp', 'tsp6-pgone')]) ok('sh', ['-c', `iptables -t nat -F ${c} && iptables -t nat -X ${c}`]);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('ptp and loopback: tsrun in-process against the reference', () => {
  it.each(['1.0.0', '0.4.0'])('ptp with ipMasq, mtu and a default route (%s)', async (version) => {
    const l = ptpConf('tsp6-ptp', version);
    const chain = chainName(l.name, rt().containerId);
    const r1 = await ref().addNetworkList(l, rt());
    const s1 = kernelState(NS[0]!, chain);
    await ref().delNetworkList(l, rt());
    rmSync(join(tmp, 'ipam'), { recursive: true, force: true });
    const r2 = await ours().addNetworkList(l, rt());
    const s2 = kernelState(NS[0]!, chain);
    expect(ping(NS[0]!, '10.246.11.1')).toBe(true);
    await ours().delNetworkList(l, rt());
    expect(withoutMacs(r2)).toEqual(withoutMacs(r1));
    expect(s2).toEqual(s1);
    expect(natLines(chain)).toEqual([]);
    expect(sh('ip', ['-n', NS[0]!, '-o', 'link']).includes('eth0')).toBe(false);
    rmSync(join(tmp, 'ipam'), { recursive: true, force: true });
  });

  it.each(['1.0.0', '0.2.0'])('loopback (%s)', async (version) => {
    const l = conflist('tsp6-lo', [{ type: 'loopback' }], version);
    const r1 = await ref().addNetworkList(l, rt(NS[1]));
    const up1 = sh('ip', ['-n', NS[1]!, '-o', 'addr', 'show', 'dev', 'lo']);
    await ref().delNetworkList(l, rt(NS[1]));
    const down1 = sh('ip', ['-n', NS[1]!, '-o', 'link', 'show', 'dev', 'lo']);
    const r2 = await ours().addNetworkList(l, rt(NS[1]));
    const up2 = sh('ip', ['-n', NS[1]!, '-o', 'addr', 'show', 'dev', 'lo']);
    await ours().delNetworkList(l, rt(NS[1]));
    const down2 = sh('ip', ['-n', NS[1]!, '-o', 'link', 'show', 'dev', 'lo']);
    expect(r2).toEqual(r1);
    expect(norm(up2)).toEqual(norm(up1));
    expect(norm(down2)).toEqual(norm(down1));
  });

  it('ptp DEL after the netns is gone releases the IP and the masquerade rules', async () => {
    const l = ptpConf('tsp6-ptp', '1.0.0');
    const r = rt(NS[1]!, 'tsp6-pgone');
    await ours().addNetworkList(l, r);
    const chain = chainName(l.name, r.containerId);
    expect(natLines(chain)).toHaveLength(4);
    sh('ip', ['netns', 'del', NS[1]!]);
    await ours().delNetworkList(l, r);
    expect(natLines(chain)).toEqual([]);
    expect(readdirSync(join(tmp, 'ipam', l.name)).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(sh('ip', ['-o', 'link', 'show', 'type', 'veth'])).not.toContain(`link-netns ${NS[1]}`);
    sh('ip', ['netns', 'add', NS[1]!]);
  });

  it('ptp with a route that cannot be installed rolls back veth, IP and rules', async () => {
    const l = ptpConf('tsp6-ptp', '1.0.0', { ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.246.11.0/24', routes: [{ dst: '10.99.0.0/16', gw: '10.250.0.1' }] } });
    await expect(ours().addNetworkList(l, rt())).rejects.toThrow(/failed to add route/);
    expect(sh('ip', ['-n', NS[0]!, '-o', 'link']).includes('eth0')).toBe(false);
    expect(readdirSync(join(tmp, 'ipam', l.name)).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(natLines(chainName(l.name, 'tsp6-pc1'))).toEqual([]);
  });
});
