import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { confListFromBytes } from '../../src/network/cni/conf.js';
import { cleanup, isRoot, ok, sh } from '../helpers/netns.js';

// The built-in plugins as executables (dist/cni/<type> → dist/cni-plugin-main.js),
// run by the CNI client with forceExec, like any other CNI client would.
// Names: netns tsp6-e1..20, bridge tsp6br0e, subnet 10.246.13.0/24. Needs a build.
const DIST_CNI = resolve('dist/cni');
const N = 20;
const NS = Array.from({ length: N }, (_, i) => `tsp6-e${i + 1}`);
const BR = 'tsp6br0e';
let tmp: string;
const rt = (i: number) => ({ containerId: `tsp6-ec${i}`, netns: `/run/netns/${NS[i]}`, ifName: 'eth0' });

beforeAll(async () => {
  if (!isRoot) return;
  if (!existsSync(join(DIST_CNI, 'bridge'))) await execa('node', ['scripts/link-cni-plugins.mjs']);
  tmp = mkdtempSync(join(tmpdir(), 'tsp6-exec-'));
  for (const n of NS) sh('ip', ['netns', 'add', n]);
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: NS, links: [BR] });
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('built-in plugins as CNI executables', () => {
  it('answer VERSION and errors in the spec shape', async () => {
    const v = await execa(join(DIST_CNI, 'ptp'), [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' } });
    expect(JSON.parse(v.stdout).supportedVersions).toContain('1.1.0');
    const e = await execa(join(DIST_CNI, 'bridge'), [], { input: '{"cniVersion":"1.0.0","name":"x","type":"bridge"}', env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x', CNI_IFNAME: 'eth0', CNI_PATH: DIST_CNI }, reject: false });
    expect(e.exitCode).toBe(1);
    expect(JSON.parse(e.stdout)).toEqual({ cniVersion: '1.0.0', code: 4, msg: 'required env variables [CNI_NETNS] missing' });
  });

  it(`${N} parallel ADDs through the executables get ${N} distinct IPs; parallel DELs leave nothing`, async () => {
    const list = confListFromBytes(Buffer.from(JSON.stringify({
      cniVersion: '1.0.0', name: 'tsp6-exec',
      plugins: [{ type: 'bridge', bridge: BR, isGateway: true, ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), subnet: '10.246.13.0/24' } }],
    })));
    const cni = new CniClient({ path: [DIST_CNI], cacheDir: join(tmp, 'cache'), forceExec: true });
    const results = await Promise.all(NS.map((_, i) => cni.addNetworkList(list, rt(i))));
    const ips = results.map((r) => (r as { ips: { address: string }[] }).ips[0]!.address);
    expect(new Set(ips).size).toBe(N);
    expect(readdirSync(join(tmp, 'ipam', 'tsp6-exec')).filter((f) => /^\d/.test(f))).toHaveLength(N);
    expect(sh('ip', ['-o', 'link', 'show', 'master', BR]).trim().split('\n')).toHaveLength(N);
    expect(ok('ip', ['netns', 'exec', NS[0]!, 'busybox', 'ping', '-c1', '-W2', ips[N - 1]!.split('/')[0]!])).toBe(true);
    await Promise.all(NS.map((_, i) => cni.delNetworkList(list, rt(i))));
    expect(readdirSync(join(tmp, 'ipam', 'tsp6-exec')).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(sh('ip', ['-o', 'link', 'show', 'master', BR]).trim()).toBe('');
  });
});
