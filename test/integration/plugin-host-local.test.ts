import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/network/plugins/host-local/disk-store.js';
import { hostLocal } from '../../src/network/plugins/host-local/index.js';
import type { PluginDeps, PluginRequest } from '../../src/network/plugins/skel.js';
import { realSyscalls } from '../../src/sys/index.js';

// host-local against the reference binary: identical results from identical
// stores, and one store shared by both (no netns needed: IPAM touches files only).
// Names: network tsp6-hl*, subnets 10.246.3-6.0/24, temp dataDirs.
const tmp = mkdtempSync(join(tmpdir(), 'tsp6-hli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Conf = Record<string, unknown>;
const conf = (dataDir: string, ipam: object, cniVersion = '1.0.0', name = 'tsp6-hl'): Conf => ({ cniVersion, name, ipam: { type: 'host-local', dataDir, ...ipam } });

async function reference(command: string, c: Conf, containerId: string, args = ''): Promise<{ code: number; out: unknown }> {
  const r = await execa('/usr/lib/cni/host-local', [], {
    input: JSON.stringify(c), reject: false,
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/run/netns/tsp6-unused', CNI_IFNAME: 'eth0', CNI_ARGS: args, CNI_PATH: '/usr/lib/cni' },
  });
  return { code: r.exitCode ?? -1, out: r.stdout ? JSON.parse(r.stdout) : undefined };
}

async function ours(command: 'ADD' | 'DEL', c: Conf, containerId: string, args = ''): Promise<{ code: number; out: unknown }> {
  const deps = { sys: await realSyscalls() } as PluginDeps;
  const req: PluginRequest = { command, containerId, netns: '', ifName: 'eth0', args, path: [], conf: c };
  try {
    const out = command === 'ADD' ? await hostLocal().add(req, deps) : await hostLocal().del(req, deps);
    return { code: 0, out };
  } catch (err) {
    const e = err as { cniCode?: number; message: string };
    return { code: 1, out: { code: e.cniCode, msg: e.message } };
  }
}

const ipFiles = (dir: string) => readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$|:/.test(f)).sort();

describe('host-local: same results as the reference', () => {
  const resolv = join(tmp, 'resolv.conf');
  writeFileSync(resolv, 'nameserver 10.246.3.53\nsearch tsp6.test example.test\noptions ndots:2\n');
  const cases: [string, object, string, string][] = [
    ['legacy subnet + routes', { subnet: '10.246.3.0/24', routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.246.3.9' }] }, '1.0.0', ''],
    ['v4 + v6 range sets, 0.4.0', { ranges: [[{ subnet: '10.246.3.0/24', rangeStart: '10.246.3.100', rangeEnd: '10.246.3.110' }], [{ subnet: 'fd00:246:3::/64' }]] }, '0.4.0', ''],
    ['0.2.0 with resolvConf', { subnet: '10.246.3.0/24', gateway: '10.246.3.254', resolvConf: resolv }, '0.2.0', ''],
    ['requested IP through CNI_ARGS', { subnet: '10.246.3.0/24' }, '1.0.0', 'IP=10.246.3.77'],
    ['range too small', { subnet: '10.246.3.0/31' }, '1.0.0', ''],
    ['requested IP outside', { subnet: '10.246.3.0/24' }, '1.0.0', 'IP=10.246.4.1'],
    ['unknown CNI_ARGS', { subnet: '10.246.3.0/24' }, '1.0.0', 'FOO=bar'],
  ];
  it.each(cases)('%s', async (_name, ipam, version, args) => {
    const dirA = join(tmp, `a-${_name.replace(/\W/g, '')}`);
    const dirB = join(tmp, `b-${_name.replace(/\W/g, '')}`);
    const ref = await reference('ADD', conf(dirA, ipam, version), 'c1', args);
    const mine = await ours('ADD', conf(dirB, ipam, version), 'c1', args);
    expect(mine.code === 0).toBe(ref.code === 0);
    if (ref.code === 0) expect(mine.out).toEqual(ref.out);
    else expect((mine.out as { code: number }).code).toBe((ref.out as { code: number }).code);
  });

  it('fails the same way when the range is exhausted', async () => {
    const ipam = { subnet: '10.246.4.0/30' };
    const [a, b] = [join(tmp, 'ex-a'), join(tmp, 'ex-b')];
    await reference('ADD', conf(a, ipam), 'c1');
    await ours('ADD', conf(b, ipam), 'c1');
    const ref = await reference('ADD', conf(a, ipam), 'c2');
    const mine = await ours('ADD', conf(b, ipam), 'c2');
    expect(mine.out).toEqual({ code: (ref.out as { code: number }).code, msg: (ref.out as { msg: string }).msg });
  });
});

describe('host-local: one store shared with the reference', () => {
  const dir = join(tmp, 'shared');
  const c = conf(dir, { subnet: '10.246.5.0/24' });

  it('interleaved ADDs continue one cursor; each DELs what the other allocated', async () => {
    const addrs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = i % 2 === 0 ? reference : ours;
      const r = await run('ADD', c, `c${i}`);
      addrs.push((r.out as { ips: { address: string }[] }).ips[0]!.address);
    }
    expect(addrs).toEqual(['10.246.5.2/24', '10.246.5.3/24', '10.246.5.4/24', '10.246.5.5/24', '10.246.5.6/24', '10.246.5.7/24']);
    expect(ipFiles(join(dir, 'tsp6-hl'))).toHaveLength(6);
    await ours('DEL', c, 'c0'); // made by the reference
    await reference('DEL', c, 'c1'); // made by tsrun
    expect(ipFiles(join(dir, 'tsp6-hl'))).not.toContain('10.246.5.2');
    expect(ipFiles(join(dir, 'tsp6-hl'))).not.toContain('10.246.5.3');
    // the reference released c1 behind tsrun's index: tsrun still allocates c1 again
    expect((await ours('ADD', c, 'c1')).code).toBe(0);
    for (let i = 1; i < 6; i++) await (i % 2 ? ours : reference)('DEL', c, `c${i}`);
    expect(ipFiles(join(dir, 'tsp6-hl'))).toEqual([]);
  });

  it('concurrent ADDs from reference processes and tsrun never share an IP', async () => {
    const runs = Array.from({ length: 20 }, (_, i) => (i % 2 ? ours('ADD', c, `p${i}`) : reference('ADD', c, `p${i}`)));
    const got = (await Promise.all(runs)).map((r) => (r.out as { ips: { address: string }[] }).ips[0]!.address);
    expect(new Set(got).size).toBe(20);
    expect(ipFiles(join(dir, 'tsp6-hl'))).toHaveLength(20);
  });
});

describe('host-local: allocation cost does not grow with the store', () => {
  const big = join(tmp, 'big');
  const fill = (net: string, n: number) => {
    const dir = join(big, net);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `10.246.${(i + 2) >> 8}.${(i + 2) & 255}`), `f${i}\r\neth0`);
    writeFileSync(join(dir, 'last_reserved_ip.0'), `10.246.${(n + 1) >> 8}.${(n + 1) & 255}`);
  };

  it('ADD and DEL at 10,000 allocations never list the directory (the index answers)', async () => {
    fill('tsp6-hlscan', 10_000);
    class NoScan extends DiskStore {
      override all(): never {
        throw new Error('scanned the store');
      }
    }
    const sys = await realSyscalls();
    const deps = { sys } as PluginDeps;
    const plugin = hostLocal((c) => new NoScan(sys, c.dataDir, c.network));
    const req = (command: 'ADD' | 'DEL'): PluginRequest => ({ command, containerId: 'ns1', netns: '', ifName: 'eth0', args: '', path: [], conf: conf(big, { subnet: '10.246.0.0/16' }, '1.0.0', 'tsp6-hlscan') });
    expect(await plugin.add(req('ADD'), deps)).toMatchObject({ ips: [{ address: '10.246.39.18/16' }] });
    await plugin.del(req('DEL'), deps);
    expect(existsSync(join(big, 'tsp6-hlscan', '10.246.39.18'))).toBe(false);
  });

  it('ADD+DEL at 10,000 allocations costs about what it costs at 10 (medians, interleaved)', async () => {
    fill('tsp6-hl10', 10);
    fill('tsp6-hl10k', 10_000);
    const c10 = conf(big, { subnet: '10.246.0.0/16' }, '1.0.0', 'tsp6-hl10');
    const c10k = conf(big, { subnet: '10.246.0.0/16' }, '1.0.0', 'tsp6-hl10k');
    const once = async (c: Conf, id: string) => {
      const t0 = performance.now();
      await ours('ADD', c, id);
      await ours('DEL', c, id);
      return performance.now() - t0;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 200; i++) {
      a.push(await once(c10, `m${i}`));
      b.push(await once(c10k, `m${i}`));
    }
    const median = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1]!;
    const [at10, at10k] = [median(a.slice(20)), median(b.slice(20))];
    console.log(`host-local ADD+DEL: ${(at10 * 1000).toFixed(0)} µs at 10, ${(at10k * 1000).toFixed(0)} µs at 10,000 (${(at10k / at10).toFixed(2)}×)`);
    // loose on purpose (a shared, loaded machine); the reference measured 9× here
    expect(at10k / at10).toBeLessThan(2.5);
  });
});
