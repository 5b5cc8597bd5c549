import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// Dual-stack gateways (IPv6 forwarding, ip6tables masquerade) change host-wide
// settings, so each implementation runs inside its own netns playing the host:
// reference binaries in tsp6-6hr, tsrun's executables in tsp6-6ht, each with a
// container netns. Carrier (linkdown) and DAD (tentative) states are left out:
// they settle with time, and the two runs are seconds apart. Names: tsp6-6*, bridge tsp6br06, 10.246.17.0/24, fd00:246:17::/64.
const OURS = resolve('dist/cni');
const IMPL = { ref: '/usr/lib/cni', ours: OURS } as const;
const NS = ['tsp6-6hr', 'tsp6-6cr', 'tsp6-6ht', 'tsp6-6ct'];
let tmp: string;

const ipam = (impl: string) => ({ type: 'host-local', dataDir: join(tmp, `ipam-${impl}`), ranges: [[{ subnet: '10.246.17.0/24' }], [{ subnet: 'fd00:246:17::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] });

async function run(impl: keyof typeof IMPL, type: string, command: string, stdin: object) {
  const [host, cont] = impl === 'ref' ? [NS[0]!, NS[1]!] : [NS[2]!, NS[3]!];
  const r = await execa('ip', ['netns', 'exec', host, join(IMPL[impl], type)], {
    input: JSON.stringify(stdin), reject: false,
    env: { CNI_COMMAND: command, CNI_CONTAINERID: 'tsp6-6c', CNI_NETNS: `/run/netns/${cont}`, CNI_IFNAME: 'eth0', CNI_PATH: IMPL[impl] },
  });
  return { code: r.exitCode, out: r.stdout ? JSON.parse(r.stdout) : undefined };
}

const norm = (s: string) => s.split('\n').map((l) => l.replace(/veth[0-9a-f]{8}/g, 'vethX').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/^\d+: /, '').replace(/@if\d+/g, '@ifN')
  .replace(/ qlen \d+/g, '').replace(/link-netns(id)? \S+/g, '').replace(/ (valid|preferred)_lft \S+/g, '').replace(/\\\s+/g, ' ').replace(/ expires \S+/g, '').replace(/ (linkdown|tentative)/g, '').replace(/\s+/g, ' ').trim())
  .filter((l) => l && !l.includes('fe80')).sort();
const withoutMacs = (r: unknown) => JSON.parse(JSON.stringify(r).replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/veth[0-9a-f]{8}/g, 'vethX').replace(/tsp6-6c[rt]/g, 'C'));

function state(impl: keyof typeof IMPL) {
  const [h, c] = impl === 'ref' ? [NS[0]!, NS[1]!] : [NS[2]!, NS[3]!];
  const ex = (ns: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns, ...cmd]);
  return {
    contAddrs: norm(ex(c, 'ip', '-o', 'addr')),
    contRoutes: norm(ex(c, 'ip', '-4', 'route') + '\n' + ex(c, 'ip', '-6', 'route')),
    hostAddrs: norm(ex(h, 'ip', '-o', 'addr')),
    hostRoutes: norm(ex(h, 'ip', '-4', 'route') + '\n' + ex(h, 'ip', '-6', 'route')),
    nat4: norm(ex(h, 'iptables', '-t', 'nat', '-S')),
    nat6: norm(ex(h, 'ip6tables', '-t', 'nat', '-S')),
    forwarding: [ex(h, 'sysctl', '-n', 'net.ipv4.ip_forward'), ex(h, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding')],
  };
}

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsp6-v6-'));
  for (const n of NS) {
    sh('ip', ['netns', 'add', n]);
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: NS }); // bridges, veths, rules and sysctls all live in these netns
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('dual stack, reference vs tsrun executables, each in its own host netns', () => {
  it.each([
    ['bridge', { type: 'bridge', bridge: 'tsp6br06', isGateway: true, ipMasq: true, hairpinMode: true }],
    ['ptp', { type: 'ptp', ipMasq: true }],
  ])('%s: same result, addresses, routes, forwarding and v4/v6 nat; DEL leaves the same', async (_name, plugin) => {
    const conf = (dataDir: object) => ({ cniVersion: '1.0.0', name: 'tsp6-v6', ...plugin, ipam: dataDir });
    const r1 = await run('ref', plugin.type, 'ADD', conf(ipam('ref')));
    const r2 = await run('ours', plugin.type, 'ADD', conf(ipam('ours')));
    expect(r1.code).toBe(0);
    expect(withoutMacs(r2)).toEqual(withoutMacs(r1));
    expect(state('ours')).toEqual(state('ref'));
    expect((await run('ours', plugin.type, 'CHECK', { ...conf(ipam('ours')), prevResult: r2.out })).code).toBe(0);
    await run('ref', plugin.type, 'DEL', conf(ipam('ref')));
    await run('ours', plugin.type, 'DEL', conf(ipam('ours')));
    expect(state('ours')).toEqual(state('ref'));
    expect(state('ours').nat6.filter((l) => l.includes('tsp6-v6'))).toEqual([]);
  });
});
