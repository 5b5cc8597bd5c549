import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/network/cni/cache.js';

let dir: string;
let cache: ResultCache;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsn4-cache-'));
  cache = new ResultCache(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (containerId: string, network = 'net1') => ({
  network,
  containerId,
  ifName: 'eth0',
  config: Buffer.from('{"name":"net1"}'),
  netns: '/run/netns/a',
  cniArgs: [['IgnoreUnknown', '1']] as [string, string][],
  capabilityArgs: { portMappings: [] },
  result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] },
});

describe('ResultCache', () => {
  it("writes libcni's layout and JSON, 0600, leaving no temp file", () => {
    cache.write(entry('c1'));
    expect(readdirSync(join(dir, 'results'))).toEqual(['net1-c1-eth0']);
    const file = join(dir, 'results', 'net1-c1-eth0');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(Object.keys(JSON.parse(text))).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'capabilityArgs', 'result']);
    expect(JSON.parse(text).config).toBe(Buffer.from('{"name":"net1"}').toString('base64'));
    expect(cache.read(entry('c1'))).toEqual({ entry: entry('c1') });
  });

  it('lists entries sorted, filtered by container, and reports corrupt ones without failing', () => {
    cache.write(entry('c2'));
    cache.write(entry('c1'));
    cache.write(entry('c1', 'net0'));
    writeFileSync(join(dir, 'results', 'net1-bad-eth0'), '{"kind":"other","containerId":"bad","ifName":"eth0","networkName":"net1"}');
    writeFileSync(join(dir, 'results', 'net1-trunc-eth0'), '{');
    const all = cache.list();
    expect(all.entries.map((e) => `${e.network}/${e.containerId}`)).toEqual(['net0/c1', 'net1/c1', 'net1/c2']);
    expect(all.corrupt.map((c) => c.reason)).toEqual(['kind is "other", expected "cniCacheV1"', expect.stringMatching(/^invalid JSON/)]);
    expect(cache.list('c1').entries).toHaveLength(2);
    expect(cache.read({ network: 'net1', containerId: 'trunc', ifName: 'eth0' })).toMatchObject({ corrupt: { file: join(dir, 'results', 'net1-trunc-eth0') } });
    expect(cache.read({ network: 'net1', containerId: 'none', ifName: 'eth0' })).toEqual({ missing: true });
  });

  it('reads an empty or missing dir as no entries', () => {
    expect(cache.list()).toEqual({ entries: [], corrupt: [] });
  });
});
