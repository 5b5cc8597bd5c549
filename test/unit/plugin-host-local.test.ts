import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Allocator } from '../../src/network/plugins/host-local/allocator.js';
import { loadHostLocalConf } from '../../src/network/plugins/host-local/config.js';
import { DiskStore } from '../../src/network/plugins/host-local/disk-store.js';
import { hostLocal } from '../../src/network/plugins/host-local/index.js';
import { MemoryStore } from '../../src/network/plugins/host-local/memory-store.js';
import { bigToIp, canonicalizeRange } from '../../src/network/plugins/host-local/range.js';
import type { PluginDeps, PluginRequest } from '../../src/network/plugins/skel.js';
import { realSyscalls } from '../../src/sys/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsp6-hl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const set = (...confs: object[]) => confs.map((c) => canonicalizeRange(c));

describe('host-local ranges', () => {
  it.each([
    [{ subnet: '10.246.0.0/24' }, { start: '10.246.0.1', end: '10.246.0.254', gw: '10.246.0.1' }],
    [{ subnet: '10.246.0.0/24', rangeStart: '10.246.0.10', rangeEnd: '10.246.0.20', gateway: '10.246.0.254' }, { start: '10.246.0.10', end: '10.246.0.20', gw: '10.246.0.254' }],
    [{ subnet: 'fd00:246::/120' }, { start: 'fd00:246::1', end: 'fd00:246::ff', gw: 'fd00:246::1' }],
  ])('canonicalises %j', (conf, want) => {
    const r = canonicalizeRange(conf);
    expect({ start: bigToIp(r.start, r.family), end: bigToIp(r.end, r.family), gw: bigToIp(r.gateway, r.family) }).toEqual(want);
  });

  it.each([
    [{ subnet: '10.246.0.1/24' }, /host bits set.*10\.246\.0\.0/],
    [{ subnet: '10.246.0.0/31' }, /too small to allocate from/],
    [{ subnet: '10.246.0.0/24', rangeStart: '10.246.1.5' }, /RangeStart 10.246.1.5 not in network 10.246.0.0\/24/],
    [{}, /missing 'subnet'/],
  ])('rejects %j', (conf, msg) => {
    expect(() => canonicalizeRange(conf)).toThrow(msg);
  });

  it('rejects overlapping range sets and mixed families in one set', () => {
    const conf = (ranges: object[][]) => ({ name: 'n', ipam: { type: 'host-local', ranges } });
    expect(() => loadHostLocalConf(conf([[{ subnet: '10.246.0.0/24' }], [{ subnet: '10.246.0.0/25' }]]), '')).toThrow(/range set 0 overlaps with 1/);
    expect(() => loadHostLocalConf(conf([[{ subnet: '10.246.0.0/24' }, { subnet: 'fd00::/64' }]]), '')).toThrow(/mixed address families/);
    expect(() => loadHostLocalConf(conf([[{ subnet: '10.246.0.0/24' }]]), 'IP=10.246.0.9;FOO=1')).toThrow(/unknown args/);
    expect(loadHostLocalConf(conf([[{ subnet: '10.246.0.0/24' }]]), 'IP=10.246.0.9;FOO=1;IgnoreUnknown=1').requestedIPs).toEqual(['10.246.0.9']);
  });
});

describe('host-local allocator (MemoryStore)', () => {
  it('hands out addresses round-robin after the last reserved one, skipping the gateway, and wraps', () => {
    const store = new MemoryStore();
    const a = new Allocator(set({ subnet: '10.246.0.0/29' }), store, 0);
    const got = [1, 2, 3, 4, 5].map((i) => a.get(`c${i}`, 'eth0').address);
    expect(got).toEqual(['10.246.0.2/29', '10.246.0.3/29', '10.246.0.4/29', '10.246.0.5/29', '10.246.0.6/29']);
    expect(() => a.get('c6', 'eth0')).toThrow(/no IP addresses available in range set: 10.246.0.1-10.246.0.6/);
    store.releaseByID('c2', 'eth0');
    expect(a.get('c7', 'eth0').address).toBe('10.246.0.3/29');
  });

  it('refuses a duplicate (container, ifname) and honours requested IPs', () => {
    const a = new Allocator(set({ subnet: '10.246.0.0/24' }), new MemoryStore(), 0);
    a.get('c1', 'eth0');
    expect(() => a.get('c1', 'eth0')).toThrow(/10.246.0.2 has been allocated to c1, duplicate allocation is not allowed/);
    expect(a.get('c2', 'eth0', '10.246.0.77')).toEqual({ address: '10.246.0.77/24', gateway: '10.246.0.1' });
    expect(() => a.get('c3', 'eth0', '10.246.0.77')).toThrow(/requested IP address 10.246.0.77 is not available/);
    expect(() => a.get('c3', 'eth0', '10.246.0.1')).toThrow(/is subnet's gateway/);
  });

  it('walks several ranges of one set in order', () => {
    const a = new Allocator(set({ subnet: '10.246.0.0/30' }, { subnet: '10.246.1.0/30' }), new MemoryStore(), 0);
    expect([1, 2].map((i) => a.get(`c${i}`, 'eth0').address)).toEqual(['10.246.0.2/30', '10.246.1.2/30']);
  });
});

describe('host-local plugin on disk', () => {
  const deps = async (): Promise<PluginDeps> => ({ sys: await realSyscalls() }) as PluginDeps;
  const req = (containerId: string, ipam: object, args = ''): PluginRequest => ({
    command: 'ADD', containerId, ifName: 'eth0', netns: '', args, path: [],
    conf: { cniVersion: '1.0.0', name: 'tsp6-hl', ipam: { type: 'host-local', dataDir: tmp, ...ipam } },
  });
  const ipam = { ranges: [[{ subnet: '10.246.2.0/24' }], [{ subnet: 'fd00:246:2::/64' }]], routes: [{ dst: '0.0.0.0/0' }] };

  it('writes the reference layout and answers with one IP per range set', async () => {
    const d = await deps();
    const r = await hostLocal().add(req('c1', ipam), d);
    expect(r).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.246.2.2/24', gateway: '10.246.2.1' }, { address: 'fd00:246:2::2/64', gateway: 'fd00:246:2::1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
    const dir = join(tmp, 'tsp6-hl');
    expect(readFileSync(join(dir, '10.246.2.2'), 'utf8')).toBe('c1\r\neth0');
    expect(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8')).toBe('10.246.2.2');
    expect(readFileSync(join(dir, 'last_reserved_ip.1'), 'utf8')).toBe('fd00:246:2::2');
    expect(readdirSync(dir)).toContain('lock');
    await expect(hostLocal().add(req('c1', ipam), d)).rejects.toThrow(/duplicate allocation/);
    await hostLocal().del(req('c1', ipam), d);
    await hostLocal().del(req('c1', ipam), d); // idempotent
    expect(readdirSync(dir).filter((f) => /^[\d:f]/.test(f) && !f.startsWith('last'))).toEqual([]);
  });

  it('releases allocations it has no index for (made by the reference) by scanning', async () => {
    const d = await deps();
    const dir = join(tmp, 'tsp6-hl');
    writeFileSync(join(dir, '10.246.2.200'), 'ref1\r\neth0');
    writeFileSync(join(dir, '10.246.2.201'), 'ref1\r\neth1');
    await hostLocal().del(req('ref1', ipam), d);
    expect(readdirSync(dir)).not.toContain('10.246.2.200');
    expect(readdirSync(dir)).toContain('10.246.2.201');
  });

  it('rolls back the first range set when the second cannot allocate, and reports unmet requested IPs', async () => {
    const d = await deps();
    await expect(hostLocal().add(req('c2', ipam, 'IP=10.99.0.1'), d)).rejects.toThrow(/failed to allocate all requested IPs: 10.99.0.1/);
    expect(new DiskStore(d.sys, tmp, 'tsp6-hl').findByID('c2', 'eth0')).toEqual([]);
    const r = await hostLocal().add(req('c3', ipam, 'IP=10.246.2.50'), d);
    expect(r).toMatchObject({ ips: [{ address: '10.246.2.50/24' }, {}] });
  });

  it('converts to the config version', async () => {
    const d = await deps();
    const r = await hostLocal().add({ ...req('c4', ipam), conf: { ...req('c4', ipam).conf, cniVersion: '0.2.0' } }, d);
    expect(r).toMatchObject({ cniVersion: '0.2.0', ip4: { ip: '10.246.2.51/24' }, ip6: { ip: 'fd00:246:2::5/64' } });
  });
});
