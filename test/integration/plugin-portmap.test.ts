import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// portmap, reference against tsrun's executable. Both run inside test netns
// that play the host (`ip netns exec`), so the machine's own nat table is never
// touched. Names: netns tsp6-ph*/tsp6-pc, bridge tsp6br0m, subnet 10.246.14.0/24,
// ports 18080-18082.
const OURS = resolve('dist/cni');
const HOSTS = ['tsp6-ph1', 'tsp6-ph2', 'tsp6-ph3'];
const CONT = 'tsp6-pc';
let tmp: string;

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'tsp6br0m', mac: '02:00:00:00:00:01' }, { name: 'vethaaaa', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: `/run/netns/${CONT}` }],
  ips: [{ address: '10.246.14.2/24', gateway: '10.246.14.1', interface: 2 }, { address: 'fd00:246:14::2/64', gateway: 'fd00:246:14::1', interface: 2 }],
};
const mappings = [
  { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 18081, containerPort: 81, protocol: 'udp', hostIP: '10.246.14.99' },
  { hostPort: 18082, containerPort: 82, protocol: 'tcp' },
];
const conf = (extra: object = {}) => ({ cniVersion: '1.0.0', name: 'tsp6-pm', type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: mappings }, prevResult, ...extra });

async function run(host: string, bin: string, command: string, containerId: string, stdin: object) {
  const r = await execa('ip', ['netns', 'exec', host, bin], {
    input: JSON.stringify(stdin), reject: false,
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${CONT}`, CNI_IFNAME: 'eth0', CNI_PATH: `${OURS}:/usr/lib/cni` },
  });
  return { code: r.exitCode, out: r.stdout ? JSON.parse(r.stdout) : undefined };
}
const nat = (host: string, v6 = false) => sh('ip', ['netns', 'exec', host, v6 ? 'ip6tables' : 'iptables', '-t', 'nat', '-S']);

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsp6-pm-'));
  for (const n of [...HOSTS, CONT]) {
    sh('ip', ['netns', 'add', n]);
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: [...HOSTS, CONT] }); // the nat rules live and die with these netns
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('portmap: tsrun against the reference', () => {
  it('writes the same nat rules for IPv4 and IPv6, passes prevResult through, and DEL leaves the same', async () => {
    const [a, b] = [HOSTS[0]!, HOSTS[1]!];
    const r1 = await run(a, '/usr/lib/cni/portmap', 'ADD', 'cid1', conf());
    const r2 = await run(b, join(OURS, 'portmap'), 'ADD', 'cid1', conf());
    expect(r2).toEqual(r1);
    expect(nat(b)).toBe(nat(a));
    expect(nat(b, true)).toBe(nat(a, true));
    expect(nat(b)).toContain('--to-destination 10.246.14.2:80');
    expect(nat(b, true)).toContain('--to-destination [fd00:246:14::2]:80');
    await run(a, '/usr/lib/cni/portmap', 'DEL', 'cid1', conf());
    await run(b, join(OURS, 'portmap'), 'DEL', 'cid1', { cniVersion: '1.0.0', name: 'tsp6-pm', type: 'portmap' }); // no mappings, no prevResult
    expect(nat(b)).toBe(nat(a));
    expect(nat(b, true)).toBe(nat(a, true));
    expect(nat(b)).not.toContain('CNI-DN-');
  });

  it('takes turns with the reference on one host: shared chains once, each removes the other\'s', async () => {
    const h = HOSTS[2]!;
    await run(h, '/usr/lib/cni/portmap', 'ADD', 'cidA', conf());
    const afterRef = nat(h);
    expect((await run(h, join(OURS, 'portmap'), 'ADD', 'cidB', conf())).code).toBe(0);
    const both = nat(h);
    for (const shared of ['-A PREROUTING', '-A OUTPUT', '-A POSTROUTING', '-A CNI-HOSTPORT-MASQ', '-A CNI-HOSTPORT-SETMARK']) {
      expect(both.split('\n').filter((l) => l.startsWith(shared))).toHaveLength(1);
    }
    expect((await run(h, join(OURS, 'portmap'), 'DEL', 'cidA', conf())).code).toBe(0);
    expect((await run(h, '/usr/lib/cni/portmap', 'DEL', 'cidB', conf())).code).toBe(0);
    expect(nat(h)).not.toContain('CNI-DN-');
    expect(afterRef).toContain('CNI-DN-');
  });

  it('errors like the reference on a bad port and when not chained', async () => {
    const h = HOSTS[0]!;
    const bad = conf({ runtimeConfig: { portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] } });
    const e1 = await run(h, '/usr/lib/cni/portmap', 'ADD', 'cidX', bad);
    const e2 = await run(h, join(OURS, 'portmap'), 'ADD', 'cidX', bad);
    expect(e2.code).toBe(e1.code);
    expect(e2.out.code).toBe(e1.out.code);
  });
});

describe.skipIf(!isRoot)('portmap: traffic reaches the container', () => {
  const listeners: ResultPromise[] = [];
  afterAll(() => {
    for (const l of listeners) l.kill();
  });
  const listen = (port: number) => {
    const p = execa('ip', ['netns', 'exec', CONT, 'busybox', 'nc', '-l', '-p', String(port), '-e', 'busybox', 'echo', 'pong'], { reject: false });
    listeners.push(p);
    return listening(port);
  };
  /** Until something listens on the port in the container (not a fixed wait: a loaded machine may take longer). */
  const listening = async (port: number) => {
    for (let i = 0; i < 200; i++) {
      const ss = await execa('ip', ['netns', 'exec', CONT, 'ss', '-Hltn', `sport = :${port}`], { reject: false });
      if (ss.stdout.trim()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nothing listens on port ${port} in ${CONT} after 10 s`);
  };
  const connect = async (ns: string, ip: string, port: number) =>
    (await execa('ip', ['netns', 'exec', ns, 'busybox', 'nc', '-w', '2', ip, String(port)], { reject: false, input: '' })).stdout.trim();

  it('through the host address, from the container itself (hairpin) and from 127.0.0.1 (route_localnet)', async () => {
    const h = HOSTS[1]!;
    const ipam = { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.246.14.0/24' };
    const list = { cniVersion: '1.0.0', name: 'tsp6-pmnet', type: 'bridge', bridge: 'tsp6br0m', isGateway: true, hairpinMode: true, ipam };
    const add = await run(h, join(OURS, 'bridge'), 'ADD', 'cidT', list);
    expect(add.code).toBe(0);
    const pm = await run(h, join(OURS, 'portmap'), 'ADD', 'cidT', { ...conf(), name: 'tsp6-pmnet', prevResult: add.out, runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } });
    expect(pm.code).toBe(0);
    await listen(80);
    expect(await connect(h, '10.246.14.1', 18080)).toBe('pong');
    await listen(80);
    expect(await connect(CONT, '10.246.14.1', 18080)).toBe('pong');
    await listen(80);
    expect(await connect(h, '127.0.0.1', 18080)).toBe('pong');
    expect(sh('ip', ['netns', 'exec', h, 'sysctl', '-n', 'net.ipv4.conf.tsp6br0m.route_localnet']).trim()).toBe('1');
    expect((await run(h, join(OURS, 'portmap'), 'DEL', 'cidT', { ...conf(), name: 'tsp6-pmnet' })).code).toBe(0);
    expect((await run(h, join(OURS, 'bridge'), 'DEL', 'cidT', list)).code).toBe(0);
    expect(nat(h)).not.toContain('CNI-DN-');
  });
});
