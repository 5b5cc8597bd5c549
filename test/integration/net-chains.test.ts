import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { loadConfList } from '../../src/network/cni/conf.js';
import { cleanup, inNetns, iptablesRules, isRoot, linkExists, ping, sh, sweepIptables, writeConf } from '../helpers/netns.js';

// More chains through the reference plugins. Names unique to this file: tsn4c-*,
// bridges tsn4br2/tsn4br3, veths tsn4mv0/1, subnets 10.244.43-46.0/24, port 18443.
const NS = { ptp: 'tsn4c-ptp', lo: 'tsn4c-lo', chain: 'tsn4c-chain', mvHost: 'tsn4c-h', mvPeer: 'tsn4c-p', mv: 'tsn4c-mv', fail: 'tsn4c-fail' };
const NETS = ['tsn4c-ptp', 'tsn4c-lo', 'tsn4c-chain', 'tsn4c-mv', 'tsn4c-fail'];
let tmp: string;
let cni: CniClient;
const ipam = (subnet: string, extra: object = {}) => ({ type: 'host-local', dataDir: join(tmp, 'ipam'), subnet, ...extra });
const allocations = (net: string) => (existsSync(join(tmp, 'ipam', net)) ? readdirSync(join(tmp, 'ipam', net)).filter((f) => /^\d/.test(f)) : []);
const rulesMentioning = (needle: string) =>
  [...iptablesRules('nat').split('\n'), ...iptablesRules('filter').split('\n')].filter((l) => l.includes(needle));
const rt = (netns: string, containerId = `${netns}-c`) => ({ containerId, netns: `/run/netns/${netns}`, ifName: 'eth0' });
const conf = (name: string) => loadConfList(join(tmp, 'conf'), name);
const hostLinks = () => sh('ip', ['-o', 'link']).split('\n').map((l) => l.split(': ')[1]!.split('@')[0]!);

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsn4c-'));
  const dir = join(tmp, 'conf');
  writeConf(dir, 'ptp.conflist', {
    cniVersion: '0.4.0', name: 'tsn4c-ptp',
    plugins: [{ type: 'ptp', ipMasq: true, ipam: ipam('10.244.43.0/24', { routes: [{ dst: '0.0.0.0/0' }] }) }],
  });
  writeConf(dir, 'lo.conf', { cniVersion: '1.0.0', name: 'tsn4c-lo', type: 'loopback' });
  writeConf(dir, 'chain.conflist', {
    cniVersion: '1.0.0', name: 'tsn4c-chain',
    plugins: [
      { type: 'bridge', bridge: 'tsn4br2', isGateway: true, ipam: ipam('10.244.44.0/24', { routes: [{ dst: '0.0.0.0/0' }] }) },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall', backend: 'iptables' },
      { type: 'tuning', mtu: 1400 },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  });
  writeConf(dir, 'mv.conflist', {
    cniVersion: '1.0.0', name: 'tsn4c-mv',
    plugins: [{ type: 'macvlan', master: 'tsn4mv0', mode: 'bridge', ipam: ipam('10.244.45.0/24', { rangeStart: '10.244.45.10' }) }],
  });
  // A plugin that fails ADD after bridge has run, and logs every call it gets.
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tsn4fail'), `#!/bin/sh\ncat >/dev/null\necho "$CNI_COMMAND" >> ${join(tmp, 'fail.log')}\nif [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","code":7,"msg":"scripted failure"}'; exit 1; fi\n`);
  chmodSync(join(bin, 'tsn4fail'), 0o755);
  writeConf(dir, 'fail.conflist', {
    cniVersion: '1.0.0', name: 'tsn4c-fail',
    plugins: [{ type: 'bridge', bridge: 'tsn4br3', ipam: ipam('10.244.46.0/24') }, { type: 'tsn4fail' }],
  });
  cni = new CniClient({ path: [bin, '/usr/lib/cni'], cacheDir: join(tmp, 'cache') });
  for (const n of Object.values(NS)) sh('ip', ['netns', 'add', n]);
});

afterAll(async () => {
  if (!isRoot) return;
  for (const [net, ns] of [['tsn4c-ptp', NS.ptp], ['tsn4c-lo', NS.lo], ['tsn4c-chain', NS.chain], ['tsn4c-fail', NS.fail]] as const) {
    await cni.delNetworkList(conf(net), rt(ns)).catch(() => {});
  }
  cleanup({ netns: Object.values(NS), links: ['tsn4br2', 'tsn4br3'] });
  for (const n of NETS) sweepIptables(n);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('reference plugin chains', () => {
  it('ptp + host-local with ipMasq (a 0.4.0 config): address, route, gateway reachable; DEL leaves nothing', async () => {
    const list = conf('tsn4c-ptp');
    const r = (await cni.addNetworkList(list, rt(NS.ptp))) as { cniVersion: string; interfaces: { name: string }[]; ips: { version: string; address: string; gateway: string }[] };
    expect(r.cniVersion).toBe('0.4.0');
    expect(r.ips[0]).toMatchObject({ version: '4', address: '10.244.43.2/24', gateway: '10.244.43.1' });
    expect(inNetns(NS.ptp, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain('10.244.43.2/24');
    expect(inNetns(NS.ptp, ['ip', 'route', 'show', 'default'])).toContain('via 10.244.43.1');
    expect(ping(NS.ptp, '10.244.43.1')).toBe(true);
    expect(rulesMentioning('id: \\"tsn4c-ptp-c\\"').join('\n')).toContain('MASQUERADE');
    const hostVeth = r.interfaces.find((i) => i.name.startsWith('veth'))!.name;
    expect(linkExists(hostVeth)).toBe(true);
    await cni.checkNetworkList(list, rt(NS.ptp));
    await cni.delNetworkList(list, rt(NS.ptp));
    expect(linkExists(hostVeth)).toBe(false);
    expect(linkExists('eth0', NS.ptp)).toBe(false);
    expect(allocations('tsn4c-ptp')).toEqual([]);
    expect(rulesMentioning('id: \\"tsn4c-ptp-c\\"')).toEqual([]);
    expect(cni.cachedAttachments()).toEqual([]);
  });

  it('loopback from a single .conf: lo up with 127.0.0.1, and DEL twice is fine', async () => {
    const list = conf('tsn4c-lo');
    const r = await cni.addNetworkList(list, rt(NS.lo));
    expect(r).toMatchObject({ interfaces: [{ name: 'lo' }] });
    expect(inNetns(NS.lo, ['ip', '-o', 'addr', 'show', 'dev', 'lo'])).toContain('127.0.0.1/8');
    expect(ping(NS.lo, '127.0.0.1')).toBe(true);
    await cni.delNetworkList(list, rt(NS.lo));
    await cni.delNetworkList(list, rt(NS.lo));
    expect(inNetns(NS.lo, ['ip', '-o', 'link', 'show', 'dev', 'lo'])).not.toContain('LOWER_UP');
  });

  it('bridge → portmap → firewall → tuning → bandwidth: each plugin acts, and DEL undoes them all', async () => {
    const list = conf('tsn4c-chain');
    const linksBefore = new Set(hostLinks());
    const capabilityArgs = {
      portMappings: [{ hostPort: 18443, containerPort: 80, protocol: 'tcp' }],
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
    };
    const r = (await cni.addNetworkList(list, { ...rt(NS.chain), capabilityArgs })) as { interfaces: { name: string; sandbox?: string }[] };
    const hostVeth = r.interfaces.find((i) => i.name.startsWith('veth') && !i.sandbox)!.name;
    const ip = '10.244.44.2';
    expect(ping(NS.chain, '10.244.44.1')).toBe(true);
    expect(rulesMentioning('18443').length).toBeGreaterThan(0); // portmap DNAT
    expect(rulesMentioning(ip).join('\n')).toMatch(/CNI-FORWARD.*ACCEPT/); // firewall
    expect(inNetns(NS.chain, ['ip', '-o', 'link', 'show', 'dev', 'eth0'])).toContain('mtu 1400'); // tuning
    expect(sh('tc', ['qdisc', 'show', 'dev', hostVeth])).toContain('tbf'); // bandwidth: container ingress, shaped on the host veth
    const ifbs = hostLinks().filter((l) => !linksBefore.has(l) && l.startsWith('bwp'));
    expect(ifbs).toHaveLength(1); // bandwidth, egress
    // No CHECK here: portmap 1.1.1's CHECK looks for an IPv6 DNAT chain even on an
    // IPv4-only attachment and fails (a plugin bug; CHECK is covered with bridge and ptp).
    // DEL without cap args: portmap still finds its mappings through the cache
    await cni.delNetworkList(list, rt(NS.chain));
    expect(rulesMentioning('18443')).toEqual([]);
    expect(rulesMentioning(ip)).toEqual([]);
    expect(rulesMentioning('tsn4c-chain')).toEqual([]);
    expect(linkExists(ifbs[0]!)).toBe(false);
    expect(linkExists('eth0', NS.chain)).toBe(false);
    expect(sh('ip', ['-o', 'link', 'show', 'master', 'tsn4br2']).trim()).toBe('');
    expect(allocations('tsn4c-chain')).toEqual([]);
    expect(cni.cachedAttachments()).toEqual([]);
  });

  it('macvlan on a veth parent, run by the CLI inside a test netns: reaches the peer, DEL removes it', async () => {
    // the macvlan parent lives in tsn4c-h; its veth peer (10.244.45.1) sits in tsn4c-p
    sh('ip', ['-n', NS.mvHost, 'link', 'add', 'tsn4mv0', 'type', 'veth', 'peer', 'name', 'tsn4mv1', 'netns', NS.mvPeer]);
    sh('ip', ['-n', NS.mvHost, 'link', 'set', 'tsn4mv0', 'up']);
    sh('ip', ['-n', NS.mvPeer, 'addr', 'add', '10.244.45.1/24', 'dev', 'tsn4mv1']);
    sh('ip', ['-n', NS.mvPeer, 'link', 'set', 'tsn4mv1', 'up']);
    const args = ['--conf-dir', join(tmp, 'conf'), '--cache-dir', join(tmp, 'cache'), '--cni-path', '/usr/lib/cni', '--container-id', 'tsn4c-mvc'];
    const run = (sub: string) => execa('ip', ['netns', 'exec', NS.mvHost, 'node', 'dist/cli/main.js', 'net', sub, 'tsn4c-mv', NS.mv, ...args], { reject: false });
    const add = await run('add');
    expect(add.stderr).toBe('');
    expect(JSON.parse(add.stdout)).toMatchObject({ ips: [{ address: '10.244.45.10/24' }] });
    expect(inNetns(NS.mv, ['ip', '-o', '-d', 'link', 'show', 'dev', 'eth0'])).toContain('macvlan');
    expect(ping(NS.mv, '10.244.45.1')).toBe(true);
    expect((await run('del')).exitCode).toBe(0);
    expect(linkExists('eth0', NS.mv)).toBe(false);
    expect(allocations('tsn4c-mv')).toEqual([]);
    expect((await run('del')).exitCode).toBe(0);
  });

  it('a plugin failing midway rolls back: bridge gets DEL, nothing is left', async () => {
    const list = conf('tsn4c-fail');
    const err = await cni.addNetworkList(list, rt(NS.fail)).catch((e: unknown) => e as { message: string; cniCode?: number });
    expect(err).toMatchObject({ message: 'plugin type="tsn4fail" name="tsn4c-fail" failed (add): scripted failure', cniCode: 7 });
    expect(readFileSync(join(tmp, 'fail.log'), 'utf8')).toBe('ADD\nDEL\n');
    expect(linkExists('eth0', NS.fail)).toBe(false);
    expect(sh('ip', ['-o', 'link', 'show', 'master', 'tsn4br3']).trim()).toBe('');
    expect(allocations('tsn4c-fail')).toEqual([]);
    expect(cni.cachedAttachments()).toEqual([]);
  });

  it('a missing plugin binary is named with the search path; a malformed conf names file and path', async () => {
    writeConf(join(tmp, 'conf2'), 'x.conflist', { cniVersion: '1.0.0', name: 'tsn4c-x', plugins: [{ type: 'tsn4-nope' }] });
    await expect(cni.addNetworkList(loadConfList(join(tmp, 'conf2'), 'tsn4c-x'), rt(NS.fail))).rejects.toThrow(
      `failed to find plugin "tsn4-nope" in path [${join(tmp, 'bin')} /usr/lib/cni]`,
    );
    writeConf(join(tmp, 'conf2'), 'y.conflist', { cniVersion: '1.0.0', name: 'tsn4c-y', plugins: [{ type: 'bridge', capabilities: { mac: 'yes' } }] });
    const r = await execa('node', ['dist/cli/main.js', 'net', 'add', 'tsn4c-y', NS.fail, '--conf-dir', join(tmp, 'conf2')], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`${join(tmp, 'conf2', 'y.conflist')}: plugins.0.capabilities.mac:`);
  });
});
