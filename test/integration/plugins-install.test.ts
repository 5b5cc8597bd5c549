import { execa } from 'execa';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// The plugins `tsrun plugins install` writes, called as containerd, CRI-O and
// cnitool call plugins: stdin JSON and CNI_* variables only (no PATH, no HOME),
// from another working directory. Also a single plugin copied elsewhere on its
// own, under another name, delegating IPAM to a reference plugin through
// CNI_PATH. The host side is the netns tsinst-h. Names: netns tsinst-h,
// tsinst-c1, tsinst-c2, bridge tsinstbr0, subnet 10.241.4.0/24.
const HOST = 'tsinst-h';
const CONTS = ['tsinst-c1', 'tsinst-c2'];
const IP = '/usr/sbin/ip'; // found without PATH
let T: string;

async function call(plugin: string, command: string, conf: object, extra: Record<string, string> = {}, cont = CONTS[0]!) {
  const r = await execa(IP, ['netns', 'exec', HOST, plugin], {
    input: JSON.stringify(conf), reject: false, extendEnv: false, cwd: '/',
    env: { CNI_COMMAND: command, CNI_CONTAINERID: `tsinst-${cont}`, CNI_NETNS: `/run/netns/${cont}`, CNI_IFNAME: 'eth0', ...extra },
  });
  return { code: r.exitCode, out: r.stdout ? JSON.parse(r.stdout) : undefined, err: r.stderr };
}

beforeAll(async () => {
  if (!isRoot) return;
  T = mkdtempSync(join(tmpdir(), 'tsinst-'));
  const r = await execa(process.execPath, [resolve('dist/tsrun.js'), 'plugins', 'install', join(T, 'bin')], { reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  for (const n of [HOST, ...CONTS]) sh('ip', ['netns', 'add', n]);
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: [HOST, ...CONTS] });
  rmSync(T, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('installed plugins', () => {
  it('answer VERSION with an empty environment from /, each with its own versions', async () => {
    for (const type of ['loopback', 'host-local', 'bridge', 'ptp', 'portmap', 'firewall']) {
      const r = await call(join(T, 'bin', type), 'VERSION', { cniVersion: '1.0.0' });
      expect(r.code, r.err).toBe(0);
      expect(r.out.supportedVersions).toEqual(type === 'firewall' ? ['0.4.0', '1.0.0', '1.1.0'] : ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    }
  });

  it('convert to 0.1/0.2 results with the converter they compile on first use (loopback ADD, config 0.2.0)', async () => {
    const r = await call(join(T, 'bin', 'loopback'), 'ADD', { cniVersion: '0.2.0', name: 'tsinst-lo', type: 'loopback' }, {}, CONTS[1]!);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toEqual({ cniVersion: '0.2.0', dns: {} });
  });

  it('bridge + host-local + portmap ADD and DEL with only CNI_* set (iptables found without PATH)', async () => {
    const bridge = { cniVersion: '1.0.0', name: 'tsinst-net', type: 'bridge', bridge: 'tsinstbr0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: join(T, 'ipam'), subnet: '10.241.4.0/24' } };
    const cniPath = { CNI_PATH: join(T, 'bin') };
    const add = await call(join(T, 'bin', 'bridge'), 'ADD', bridge, cniPath);
    expect(add.code, JSON.stringify(add.out)).toBe(0);
    expect(add.out.ips[0].address).toBe('10.241.4.2/24');
    const portmap = { cniVersion: '1.0.0', name: 'tsinst-net', type: 'portmap', prevResult: add.out, runtimeConfig: { portMappings: [{ hostPort: 18451, containerPort: 80, protocol: 'tcp' }] } };
    expect((await call(join(T, 'bin', 'portmap'), 'ADD', portmap, cniPath)).code).toBe(0);
    const nat = () => sh('ip', ['netns', 'exec', HOST, 'iptables', '-t', 'nat', '-S']);
    expect(nat()).toContain('--to-destination 10.241.4.2:80');
    expect(sh('ip', ['-n', CONTS[0]!, '-4', '-o', 'addr', 'show', 'eth0'])).toContain('10.241.4.2/24');
    expect((await call(join(T, 'bin', 'portmap'), 'DEL', portmap, cniPath)).code).toBe(0);
    expect((await call(join(T, 'bin', 'bridge'), 'DEL', { ...bridge, prevResult: add.out }, cniPath)).code).toBe(0);
    expect(nat()).not.toContain('10.241.4.');
    expect(readdirSync(join(T, 'ipam', 'tsinst-net')).filter((f) => f.startsWith('10.'))).toEqual([]);
  });

  it('one plugin copied elsewhere alone, renamed, delegating IPAM to the reference static plugin through CNI_PATH', async () => {
    const lone = join(T, 'elsewhere', 'tsrun-bridge');
    mkdirSync(join(T, 'elsewhere'));
    copyFileSync(join(T, 'bin', 'bridge'), lone);
    chmodSync(lone, 0o755);
    const cache = join(T, 'addon-cache'); // where it writes the koffi addon it carries (else /run/tsrun-cni)
    mkdirSync(cache, { mode: 0o700 });
    const conf = { cniVersion: '1.0.0', name: 'tsinst-lone', type: 'tsrun-bridge', bridge: 'tsinstbr0', ipam: { type: 'static', addresses: [{ address: '10.241.4.77/24' }] } };
    const env = { CNI_PATH: '/usr/lib/cni', TSRUN_CNI_CACHE_DIR: cache };
    const add = await call(lone, 'ADD', conf, env, CONTS[1]!);
    expect(add.code, JSON.stringify(add.out)).toBe(0);
    expect(add.out.ips[0].address).toBe('10.241.4.77/24');
    expect(readdirSync(cache).filter((f) => f.endsWith('.node'))).toHaveLength(1);
    expect(sh('ip', ['-n', CONTS[1]!, '-4', '-o', 'addr', 'show', 'eth0'])).toContain('10.241.4.77/24');
    expect((await call(lone, 'DEL', conf, env, CONTS[1]!)).code).toBe(0);
    expect(sh('ip', ['-n', CONTS[1]!, '-o', 'link'])).not.toContain('eth0');
  });
});
