import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, baseConfig, isRoot, stateOf, tsrun, waitFor } from '../helpers/bundle.js';
import { cleanup, ok, sweepIptables, writeConf } from '../helpers/netns.js';

// `tsrun net show` on real containers, every value checked against what
// ip(8) and iptables-save say. Names unique to this file: ids ns17-*, bridges
// tsns17a/tsns17b, 10.237.71.0/24 and 10.237.72.0/24, host port 18717.
const NET_A = 'ns17-a';
const NET_B = 'ns17-b';
const BRIDGES = ['tsns17a', 'tsns17b'];
const PORT = 18717;
const C1 = 'ns17-c1';
let s: Scratch;
const started = new Set<string>();

const dirs = () => ({ conf: join(s.dir, 'conf'), cache: join(s.dir, 'cache'), ipam: join(s.dir, 'ipam') });
const netFlags = () => ['--conf-dir', dirs().conf, '--cache-dir', dirs().cache, '--cni-path', '/usr/lib/cni'];
const ipj = (args: string[]) => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' })) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
const save = () => execFileSync('iptables-save', { encoding: 'utf8' }).split('\n');
const show = (args: string[]) => tsrun(s.root, ['net', 'show', ...args]);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const showJson = (args: string[]): any => {
  const r = show([...args, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

const hasRunc = ok('sh', ['-c', 'command -v runc']);
const runc = (args: string[]) => spawnSync('runc', ['--root', join(s.dir, 'runc'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function bundle(args: string[], edit?: (cfg: ReturnType<typeof baseConfig>) => void): string {
  const dir = s.rawBundle(undefined);
  cpSync(ROOTFS, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true }); // the hook writes etc/resolv.conf
  const cfg = baseConfig();
  cfg.root = { path: 'rootfs', readonly: true };
  cfg.hostname = 'ns17-host';
  cfg.process.args = args;
  edit?.(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

function run(id: string, extra: string[], args = ['sleep', '600']) {
  started.add(id);
  const r = tsrun(s.root, ['run', '-d', ...extra, ...netFlags(), '-b', bundle(args), id], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
}

const netAddB = (cmd: 'add' | 'del') =>
  tsrun(s.root, ['net', cmd, NET_B, `/run/netns/${C1}`, '--ifname', 'eth1', '--container-id', C1, ...netFlags()]);

beforeAll(() => {
  if (!isRoot) return;
  s = new Scratch('ns17');
  const d = dirs();
  writeConf(d.conf, '10-ns17-a.conflist', {
    cniVersion: '1.0.0',
    name: NET_A,
    plugins: [
      {
        type: 'bridge', bridge: 'tsns17a', isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: 'host-local', dataDir: d.ipam, ranges: [[{ subnet: '10.237.71.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
        dns: { nameservers: ['10.237.71.53'], search: ['ns17.test'] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  });
  writeConf(d.conf, '20-ns17-b.conflist', {
    cniVersion: '1.0.0',
    name: NET_B,
    plugins: [{ type: 'bridge', bridge: 'tsns17b', ipam: { type: 'host-local', dataDir: d.ipam, ranges: [[{ subnet: '10.237.72.0/24' }]] } }],
  });
  run(C1, ['--net', NET_A, '-p', `${PORT}:80`]);
  const add = netAddB('add');
  expect(add.code, add.stderr).toBe(0);
});

afterAll(() => {
  if (!isRoot) return;
  netAddB('del');
  if (hasRunc) runc(['delete', '--force', 'ns17-r1']);
  for (const id of started) tsrun(s.root, ['delete', '--force', id]);
  cleanup({ links: BRIDGES });
  sweepIptables(NET_A);
  for (const id of started) if (existsSync(`/run/netns/${id}`)) ok('ip', ['netns', 'del', id]);
  s.remove();
});

describe.skipIf(!isRoot)('tsrun net show', () => {
  it('shows each interface, route, veth peer, bridge, rule, port and DNS file as ip and iptables-save see them', () => {
    const v = showJson([C1]);
    expect(v.container).toEqual({ id: C1, status: 'running', pid: stateOf(s.root, C1)!.pid });
    expect(v.mode).toBe('cni');
    expect(v.problems).toEqual([]);
    expect(v.netns.handle).toBe(`/run/netns/${C1}`);

    // inside: every interface with its MAC, MTU and addresses
    const inside = ipj(['-n', C1, 'addr', 'show']);
    expect(v.netns.interfaces.map((i: { name: string }) => i.name)).toEqual(inside.map((l) => l.ifname));
    for (const l of inside) {
      const mine = v.netns.interfaces.find((i: { name: string }) => i.name === l.ifname);
      expect(mine.mtu).toBe(l.mtu);
      expect(mine.index).toBe(l.ifindex);
      if (l.ifname !== 'lo') expect(mine.mac).toBe(l.address);
      expect(mine.addresses.sort()).toEqual(l.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`).sort());
    }
    const routes = ipj(['-n', C1, 'route', 'show']);
    const dflt = routes.find((r) => r.dst === 'default')!;
    expect(v.netns.defaultGateways).toEqual([dflt.gateway]);
    expect(v.netns.routes).toContainEqual({ dst: 'default', gateway: dflt.gateway, dev: dflt.dev });
    expect(v.netns.routes.length).toBe(routes.length);

    // one block per attachment, both networks
    expect(v.attachments.map((a: { network: string; ifName: string }) => `${a.network}/${a.ifName}`)).toEqual([`${NET_A}/eth0`, `${NET_B}/eth1`]);
    const [a, b] = v.attachments;
    expect(a.plugins).toEqual(['bridge', 'portmap', 'firewall']);
    expect(b.plugins).toEqual(['bridge']);
    expect(a.cacheFile).toBe(join(dirs().cache, 'results', `${NET_A}-${C1}-eth0`));
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);

    for (const [att, br] of [[a, 'tsns17a'], [b, 'tsns17b']] as const) {
      // the veth pair, by ifindex and link-netnsid
      const ctr = ipj(['-n', C1, 'link', 'show', 'dev', att.ifName])[0]!;
      const peer = ipj(['-d', 'link', 'show'])!.find((l) => l.ifindex === ctr.link_index)!;
      expect(att.container.peer.index).toBe(ctr.link_index);
      expect(att.container.peer.netnsId).toBe(ctr.link_netnsid);
      expect(att.hostVeth.name).toBe(peer.ifname);
      expect(att.hostVeth.mac).toBe(peer.address);
      expect(att.hostVeth.master).toBe(br);
      expect(peer.master).toBe(br);
      expect(att.hostVeth.hairpin).toBe(peer.linkinfo.info_slave_data.hairpin);
      // the bridge and its addresses
      const bridge = ipj(['addr', 'show', 'dev', br])[0]!;
      expect(att.bridge.name).toBe(br);
      expect(att.bridge.mac).toBe(bridge.address);
      expect(att.bridge.addresses.sort()).toEqual(bridge.addr_info.map((x: { local: string; prefixlen: number }) => `${x.local}/${x.prefixlen}`).sort());
    }
    expect(a.hostVeth.hairpin).toBe(true);
    expect(b.hostVeth.hairpin).toBe(false);

    // host rules, line for line as iptables-save prints them
    const ip = a.container.addresses[0].split('/')[0];
    const lines = save();
    const named = lines.filter((l) => l.includes(`name: \\"${NET_A}\\" id: \\"${C1}\\"`) && !l.includes('dnat name'));
    expect([...a.masquerade.entries, ...a.masquerade.rules].sort()).toEqual(named.sort());
    expect(a.masquerade.chain).toMatch(/^CNI-[0-9a-f]{24}$/);
    const dnat = lines.filter((l) => l.startsWith(`-A ${a.portmap.chain} `));
    expect(a.portmap.rules).toEqual(dnat);
    expect(lines).toContain(a.portmap.entries[0]);
    expect(dnat.find((l) => l.includes('-j DNAT'))).toContain(`--dport ${PORT} -j DNAT --to-destination ${ip}:80`);
    expect(a.ports).toEqual([{ protocol: 'tcp', hostPort: PORT, containerPort: 80, to: `${ip}:80` }]);
    expect(a.firewall.sort()).toEqual(lines.filter((l) => l.startsWith('-A CNI-FORWARD') && l.includes(`${ip}/32`)).sort());
    expect(a.firewall.length).toBeGreaterThan(0);
    expect(b.masquerade).toBeUndefined();

    // DNS: what the container sees, next to the cached result
    const resolv = v.dns.find((d: { name: string }) => d.name === '/etc/resolv.conf');
    expect(resolv.path).toBe(`/proc/${v.container.pid}/root/etc/resolv.conf`);
    expect(resolv.text).toContain('nameserver 10.237.71.53');
    expect(a.cached.dns.nameservers).toEqual(['10.237.71.53']);
    expect(v.dns.find((d: { name: string }) => d.name === '/etc/hosts').text).toContain(`${ip}\tns17-host`);
  });

  it('prints one text block per attachment and a mermaid flowchart with the same values', () => {
    const v = showJson([C1]);
    const [a, b] = v.attachments;
    const ip = a.container.addresses[0].split('/')[0];
    const t = show([C1]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain(`container ${C1} (running, pid ${v.container.pid})`);
    expect(t.stdout).toContain(`network ${NET_A} — eth0 (CNI 1.0.0)`);
    expect(t.stdout).toContain(`network ${NET_B} — eth1 (CNI 1.0.0)`);
    expect(t.stdout).toContain('  plugins    bridge → portmap → firewall');
    expect(t.stdout).toContain(`  published  *:${PORT}/tcp → ${ip}:80`);
    expect(t.stdout).toMatch(new RegExp(`host veth  ${a.hostVeth.name} .*master tsns17a.*hairpin on`));
    expect(t.stdout).toContain(`default via ${v.netns.defaultGateways[0]} dev eth0`);
    expect(t.stdout.match(/the cache and the kernel agree/g)).toHaveLength(2);
    expect(t.stdout).not.toContain('PROBLEM');

    const m = show([C1, '--format', 'mermaid']);
    expect(m.code, m.stderr).toBe(0);
    const gw = a.bridge.addresses.find((x: string) => !x.startsWith('fe80'));
    expect(m.stdout.split('\n')[0]).toBe('flowchart LR');
    expect(m.stdout).toContain(`host -->|"${gw}"| br_tsns17a`);
    expect(m.stdout).toContain(`br_tsns17a --- v0_${a.hostVeth.name}`);
    expect(m.stdout).toContain(`v0_${a.hostVeth.name} <-->|"${a.container.addresses[0]}"| c0_eth0`);
    expect(m.stdout).toContain(`v1_${b.hostVeth.name} <-->|"${b.container.addresses[0]}"| c1_eth1`);
    expect(m.stdout).toContain(`p0_0>":${PORT}/tcp"] ==>|"DNAT ${ip}:80"| c0_eth0`);
    expect(m.stdout).toContain(`c0_eth0 -.->|"masquerade ${a.masquerade.chain}"| host`);
    expect(m.stdout).not.toContain(':::missing');
  });

  it('--netns PATH shows the same attachments for the bare handle', () => {
    const v = showJson(['--netns', `/run/netns/${C1}`, '--cache-dir', dirs().cache]);
    expect(v.container).toBeUndefined();
    expect(v.mode).toBe('cni');
    expect(v.attachments.map((a: { network: string }) => a.network)).toEqual([NET_A, NET_B]);
    expect(v.attachments.every((a: { problems: string[] }) => a.problems.length === 0)).toBe(true);
    const resolv = v.dns.find((d: { name: string }) => d.name === '/etc/resolv.conf');
    expect(resolv.text).toContain('nameserver 10.237.71.53');
  });

  it('a --net container:ID container shows the namespace and attachments it shares', () => {
    run('ns17-join', ['--net', `container:${C1}`]);
    const v = showJson(['ns17-join']);
    expect(v.mode).toBe('joined');
    expect(v.notes).toEqual([`it shares the network namespace of container ${C1}`]);
    expect(v.netns.interfaces.map((i: { name: string }) => i.name)).toEqual(['lo', 'eth0', 'eth1']);
    expect(v.attachments.map((a: { network: string; containerId: string }) => `${a.network} ${a.containerId}`)).toEqual([`${NET_A} ${C1}`, `${NET_B} ${C1}`]);
    expect(v.attachments.map((a: { problems: string[] }) => a.problems)).toEqual([[], []]);
    expect(show(['ns17-join']).stdout).toContain(`note: it shares the network namespace of container ${C1}`);
    expect(tsrun(s.root, ['delete', '--force', 'ns17-join']).code).toBe(0);
  });

  it('reports a deleted host veth as missing, in text, JSON and mermaid', () => {
    const before = showJson([C1]);
    const veth = before.attachments[1].hostVeth.name;
    execFileSync('ip', ['link', 'del', veth]);
    const v = showJson([C1]);
    const b = v.attachments[1];
    expect(b.hostVeth).toBeUndefined();
    expect(b.container).toBeUndefined();
    expect(b.problems).toEqual([`eth1 is not in the container's network namespace (the cache says it should be)`, `host veth ${veth} is gone`]);
    expect(v.attachments[0].problems).toEqual([]);
    const t = show([C1]).stdout;
    expect(t).toContain(`PROBLEM    host veth ${veth} is gone`);
    expect(t).toContain('container  eth1 MISSING');
    expect(show([C1, '--format', 'mermaid']).stdout).toContain(`v1_${veth}["${veth} · veth<br/>MISSING"]:::missing`);
  });

  it('a --net none container shows loopback only; a --net host one says it shares the host network', () => {
    run('ns17-none', ['--net', 'none']);
    const none = showJson(['ns17-none']);
    expect(none.mode).toBe('none');
    expect(none.attachments).toEqual([]);
    expect(none.netns.interfaces.map((i: { name: string; up: boolean }) => [i.name, i.up])).toEqual([['lo', true]]);
    expect(none.problems).toEqual([]);
    expect(show(['ns17-none']).stdout).toContain('no CNI network (loopback only)');

    run('ns17-host', ['--net', 'host']);
    const host = showJson(['ns17-host']);
    expect(host.mode).toBe('host');
    expect(host.netns).toBeUndefined();
    expect(host.attachments).toEqual([]);
    expect(show(['ns17-host']).stdout).toContain("the host's network namespace (--net host)");
    expect(show(['ns17-host', '--format', 'mermaid']).stdout).toContain("shares the host's network namespace");
  });

  it('a stopped container: its network lives on at the handle until delete, and says so', async () => {
    run('ns17-stop', ['--net', NET_B], ['true']);
    await waitFor(() => stateOf(s.root, 'ns17-stop')?.status === 'stopped', 'ns17-stop to exit');
    const v = showJson(['ns17-stop']);
    expect(v.container).toEqual({ id: 'ns17-stop', status: 'stopped' });
    expect(v.mode).toBe('cni');
    expect(v.netns.path).toBe('/run/netns/ns17-stop');
    expect(v.notes).toEqual(['the container is stopped: its network namespace lives on at /run/netns/ns17-stop until tsrun delete']);
    expect(v.attachments[0].container.addresses[0]).toMatch(/^10\.237\.72\.\d+\/24$/);
    expect(v.attachments[0].problems).toEqual([]);
    expect(v.problems).toEqual([]);
    expect(tsrun(s.root, ['delete', 'ns17-stop']).code).toBe(0);
    expect(existsSync('/run/netns/ns17-stop')).toBe(false);
  });

  it.skipIf(!hasRunc)('--netns shows a runc container networked by `tsrun hook cni` (skipped without runc)', () => {
    const hook = { path: process.execPath, args: ['node', CLI, 'hook', 'cni', '--network', NET_B, ...netFlags()], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] };
    const b = bundle(['sleep', '600'], (cfg) => (cfg.hooks = { createRuntime: [hook], poststop: [hook] }));
    const errFile = join(s.dir, 'runc-d.err');
    const fd = openSync(errFile, 'w'); // a detached runc container keeps runc's stdio: a file, not a pipe
    const r = spawnSync('runc', ['--root', join(s.dir, 'runc'), 'run', '-d', '-b', b, 'ns17-r1'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    expect(r.status, readFileSync(errFile, 'utf8')).toBe(0);
    const v = showJson(['--netns', '/run/netns/ns17-r1', '--cache-dir', dirs().cache]);
    expect(v.mode).toBe('cni');
    expect(v.attachments.map((a: { network: string; containerId: string }) => `${a.network} ${a.containerId}`)).toEqual([`${NET_B} ns17-r1`]);
    const [a] = v.attachments;
    const eth0 = ipj(['-n', 'ns17-r1', 'addr', 'show', 'dev', 'eth0'])[0]!;
    expect(a.container.mac).toBe(eth0.address);
    expect(a.container.addresses[0]).toBe(`${eth0.addr_info[0].local}/${eth0.addr_info[0].prefixlen}`);
    expect(a.hostVeth.master).toBe('tsns17b');
    expect(a.problems).toEqual([]);
    const hosts = v.dns.find((d: { name: string }) => d.name === '/etc/hosts');
    expect(hosts.path).toMatch(/^\/proc\/\d+\/root\/etc\/hosts$/);
    expect(hosts.text).toContain(`${eth0.addr_info[0].local}\tns17-host`);
    const del = runc(['delete', '--force', 'ns17-r1']);
    expect(del.status, del.stderr).toBe(0);
    expect(existsSync('/run/netns/ns17-r1')).toBe(false);
  });

  it('an unknown id, a missing netns and a bad format are clear errors', () => {
    const r = show(['ns17-nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('container "ns17-nope" does not exist');
    const n = show(['--netns', '/run/netns/ns17-nope']);
    expect(n.code).not.toBe(0);
    expect(n.stderr).toContain('network namespace /run/netns/ns17-nope does not exist');
    const f = show([C1, '--format', 'yaml']);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toContain('--format: expected text, json or mermaid, got "yaml"');
  });
});
