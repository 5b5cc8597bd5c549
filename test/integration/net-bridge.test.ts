import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { loadConfList, type NetworkConfigList } from '../../src/network/cni/conf.js';
import { gcNetworkList } from '../../src/network/cni/maintenance.js';
import { cleanup, inNetns, iptablesRules, isRoot, linkExists, ping, sh, sweepIptables, writeConf } from '../helpers/netns.js';

// bridge + host-local (isGateway, ipMasq, hairpinMode) with the reference plugins.
// Names unique to this file: tsn4b-*, bridges tsn4br0/tsn4br1, 10.244.41.0/24 and 10.244.42.0/24.
// The netns-gone and GC cases use a second network without ipMasq: the reference
// bridge 1.1.1 finds the masquerade rules to remove through the link in the
// netns, so with the netns gone it leaves them behind (fixed in later plugins).
const NET = 'tsn4b-net';
const GCNET = 'tsn4b-gc';
const BR = 'tsn4br0';
const NS = ['tsn4b-1', 'tsn4b-2', 'tsn4b-3', 'tsn4b-4'];
let tmp: string;
let list: NetworkConfigList;
let gcList: NetworkConfigList;
let cni: CniClient;
const warnings: string[] = [];

const rt = (i: number, ifName = 'eth0') => ({ containerId: `tsn4b-c${i}`, netns: `/run/netns/${NS[i - 1]}`, ifName });
const gcRt = (i: number) => rt(i, 'eth1');
const allocations = (net = NET) => (existsSync(join(tmp, 'ipam', net)) ? readdirSync(join(tmp, 'ipam', net)).filter((f) => /^\d/.test(f)).sort() : []);
const addressOf = (r: unknown) => (r as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!;
const bridgePorts = () => sh('ip', ['-o', 'link', 'show', 'master', BR]).trim();
const natRulesOf = (cid: string) => iptablesRules('nat').split('\n').filter((l) => l.includes(`id: \\"${cid}\\"`));

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsn4b-'));
  writeConf(join(tmp, 'conf'), '10-bridge.conflist', {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [{
      type: 'bridge', bridge: BR, isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.244.41.0/24', routes: [{ dst: '0.0.0.0/0' }] },
    }],
  });
  writeConf(join(tmp, 'conf'), '20-gc.conflist', {
    cniVersion: '1.0.0',
    name: GCNET,
    plugins: [{ type: 'bridge', bridge: 'tsn4br1', ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.244.42.0/24' } }],
  });
  list = loadConfList(join(tmp, 'conf'), NET);
  gcList = loadConfList(join(tmp, 'conf'), GCNET);
  cni = new CniClient({ path: ['/usr/lib/cni'], cacheDir: join(tmp, 'cache'), warn: (m) => warnings.push(m) });
  for (const n of NS) sh('ip', ['netns', 'add', n]);
});

afterAll(async () => {
  if (!isRoot) return;
  for (let i = 1; i <= NS.length; i++) {
    await cni.delNetworkList(list, rt(i)).catch(() => {});
    await cni.delNetworkList(gcList, gcRt(i)).catch(() => {});
  }
  cleanup({ netns: NS, links: [BR, 'tsn4br1'] });
  sweepIptables(NET);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('bridge + host-local through the reference plugins', () => {
  it('ADD gives each netns an address, a default route via the gateway, and reachability', async () => {
    const r1 = await cni.addNetworkList(list, rt(1));
    const r2 = await cni.addNetworkList(list, rt(2));
    expect(r1).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.244.41.2/24', gateway: '10.244.41.1' }] });
    expect(r2).toMatchObject({ ips: [{ address: '10.244.41.3/24' }] });
    expect(inNetns(NS[0]!, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain('10.244.41.2/24');
    expect(inNetns(NS[0]!, ['ip', 'route', 'show', 'default'])).toContain('default via 10.244.41.1 dev eth0');
    expect(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BR])).toContain('10.244.41.1/24');
    expect(ping(NS[0]!, '10.244.41.1')).toBe(true);
    expect(ping(NS[0]!, '10.244.41.3')).toBe(true);
    expect(ping(NS[1]!, '10.244.41.2')).toBe(true);
    // hairpin on the bridge port, masquerade rules for the container
    const port = bridgePorts().split('\n')[0]!.split(':')[1]!.trim().split('@')[0]!;
    expect(sh('cat', [`/sys/class/net/${port}/brport/hairpin_mode`]).trim()).toBe('1');
    expect(natRulesOf('tsn4b-c1').join('\n')).toContain('MASQUERADE');
    expect(allocations().sort()).toEqual(['10.244.41.2', '10.244.41.3']);
  });

  it('CHECK passes; a second ADD of the same container+ifname fails with the plugin error and keeps the first', async () => {
    await cni.checkNetworkList(list, rt(1));
    await expect(cni.addNetworkList(list, rt(1))).rejects.toThrow(/plugin type="bridge" name="tsn4b-net" failed \(add\): .*already exists/);
    expect(ping(NS[0]!, '10.244.41.1')).toBe(true);
    expect(allocations()).toContain('10.244.41.2');
  });

  it('DEL removes the veth, the allocation, the iptables rules and the cache entry; DEL twice succeeds', async () => {
    await cni.delNetworkList(list, rt(2));
    expect(linkExists('eth0', NS[1])).toBe(false);
    expect(bridgePorts().split('\n')).toHaveLength(1);
    expect(allocations()).toEqual(['10.244.41.2']);
    expect(natRulesOf('tsn4b-c2')).toEqual([]);
    expect(existsSync(join(tmp, 'cache', 'results', `${NET}-tsn4b-c2-eth0`))).toBe(false);
    await cni.delNetworkList(list, rt(2));
    await cni.delNetworkList(list, { ...rt(2), containerId: 'tsn4b-never' });
  });

  it('DEL succeeds with the netns already gone, and still frees the address', async () => {
    const ip = addressOf(await cni.addNetworkList(gcList, gcRt(3)));
    expect(allocations(GCNET)).toEqual([ip]);
    sh('ip', ['netns', 'del', NS[2]!]);
    await cni.delNetworkList(gcList, gcRt(3));
    expect(allocations(GCNET)).toEqual([]);
    expect(cni.cachedAttachments()).not.toContainEqual(expect.objectContaining({ containerId: 'tsn4b-c3' }));
  });

  it('GC deletes a leaked attachment (netns killed without DEL) and keeps the valid one', async () => {
    const kept = addressOf(await cni.addNetworkList(gcList, gcRt(1)));
    const leaked = addressOf(await cni.addNetworkList(gcList, gcRt(4)));
    sh('ip', ['netns', 'del', NS[3]!]);
    const report = await gcNetworkList(cni, gcList, [{ containerID: 'tsn4b-c1', ifname: 'eth1' }]);
    expect(report.deleted).toEqual([{ containerId: 'tsn4b-c4', ifName: 'eth1' }]);
    expect(allocations(GCNET)).toEqual([kept]);
    expect(allocations(GCNET)).not.toContain(leaked);
    // the other network's attachment is untouched by this network's GC
    expect(allocations(NET)).toEqual(['10.244.41.2']);
    await cni.delNetworkList(gcList, gcRt(1));
    expect(allocations(GCNET)).toEqual([]);
  });

  it('the CLI prints the result JSON, and exits non-zero with the plugin error', async () => {
    const args = ['--conf-dir', join(tmp, 'conf'), '--cache-dir', join(tmp, 'cache'), '--cni-path', '/usr/lib/cni', '--container-id', 'tsn4b-c1'];
    const dup = await execa('node', ['dist/cli/main.js', 'net', 'add', NET, NS[0]!, ...args], { reject: false });
    expect(dup.exitCode).not.toBe(0);
    expect(dup.stderr).toMatch(/failed \(add\): container veth name provided \(eth0\) already exists/);
    const check = await execa('node', ['dist/cli/main.js', 'net', 'check', NET, NS[0]!, ...args], { reject: false });
    expect(check.exitCode).toBe(0);
    const del = await execa('node', ['dist/cli/main.js', 'net', 'del', NET, NS[0]!, ...args], { reject: false });
    expect(del.exitCode).toBe(0);
    expect(allocations()).toEqual([]);
    const add = await execa('node', ['dist/cli/main.js', 'net', 'add', NET, NS[0]!, ...args], { reject: false });
    expect(add.exitCode).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: expect.stringMatching(/^10\.244\.41\.\d+\/24$/) }] });
    expect(warnings).toEqual([]);
  });
});
