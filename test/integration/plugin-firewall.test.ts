import { execa } from 'execa';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// The chain bridge (ipMasq) → portmap → firewall, once with the reference
// executables and once with tsrun's, each in its own netns playing the host
// (`ip netns exec`), so the machine's own tables are never touched. Same
// container id and network name in both, so the rules must be byte-identical.
// Names: netns tsfw-h*/tsfw-c*, bridge tsfwbr0, subnets 10.241.1.0/24 and
// fd00:241:1::/64 (chain) and 10.241.3.0/24 (the failing chain), port 18441.
const OURS = resolve('dist/cni');
const REF = '/usr/lib/cni';
const HOSTS = ['tsfw-h1', 'tsfw-h2', 'tsfw-h3', 'tsfw-h4', 'tsfw-h5'];
const CONTS = ['tsfw-c1', 'tsfw-c2', 'tsfw-c3', 'tsfw-c4', 'tsfw-c5'];
const CID = 'tsfw-cid';
let tmp: string;

const chain = (dataDir: string, extra: object = {}) => ({
  cniVersion: '1.0.0',
  name: 'tsfw-net',
  plugins: [
    {
      type: 'bridge', bridge: 'tsfwbr0', isGateway: true, ipMasq: true,
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.241.1.0/24' }], [{ subnet: 'fd00:241:1::/64' }]] },
    },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    { type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge', ...extra },
  ],
});
const mappings = [{ hostPort: 18441, containerPort: 80, protocol: 'tcp' }];

/** One plugin of the list, exec'd in the host netns as a CNI client would (libcni's conf injection, prevResult threaded). */
async function exec(host: string, dir: string, cmd: string, list: ReturnType<typeof chain>, i: number, prev: unknown, cont: string) {
  const p = list.plugins[i]!;
  const conf: Record<string, unknown> = { cniVersion: list.cniVersion, name: list.name, ...p };
  if (prev) conf.prevResult = prev;
  if ('capabilities' in p) conf.runtimeConfig = { portMappings: mappings };
  const r = await execa('ip', ['netns', 'exec', host, join(dir, p.type)], {
    input: JSON.stringify(conf), reject: false, extendEnv: false,
    env: { CNI_COMMAND: cmd, CNI_CONTAINERID: CID, CNI_NETNS: `/run/netns/${cont}`, CNI_IFNAME: 'eth0', CNI_PATH: dir, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const out = r.stdout ? JSON.parse(r.stdout) : undefined;
  if (r.exitCode !== 0) throw new Error(`${dir}/${p.type} ${cmd}: ${r.stdout} ${r.stderr}`);
  return out;
}
async function add(host: string, dir: string, list: ReturnType<typeof chain>, cont: string) {
  let prev: unknown;
  for (let i = 0; i < list.plugins.length; i++) prev = await exec(host, dir, 'ADD', list, i, prev, cont);
  return prev as { ips: { address: string }[]; interfaces: { name: string; mac?: string }[] };
}
async function del(host: string, dir: string, list: ReturnType<typeof chain>, prev: unknown, cont: string) {
  for (let i = list.plugins.length - 1; i >= 0; i--) await exec(host, dir, 'DEL', list, i, prev, cont);
}

/** iptables-save of the host netns, both families, filter and nat, without the comment lines and counters. */
function save(host: string): string {
  return ['iptables-save', 'ip6tables-save']
    .flatMap((bin) => ['filter', 'nat'].map((t) => sh('ip', ['netns', 'exec', host, bin, '-t', t])))
    .join('\n')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'))
    .join('\n');
}
/** The result without what differs per run: the host veth's name, every MAC, the container netns. */
const stable = (r: { interfaces: { name: string; mac?: string; sandbox?: string }[] }) => ({
  ...r,
  interfaces: r.interfaces.map((x, i) => ({ ...x, mac: 'any', name: i === 1 ? 'veth' : x.name, ...(x.sandbox ? { sandbox: 'netns' } : {}) })),
});

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync(join(tmpdir(), 'tsfw-'));
  for (const n of [...HOSTS, ...CONTS]) {
    sh('ip', ['netns', 'add', n]);
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
});
afterAll(() => {
  if (!isRoot) return;
  cleanup({ netns: [...HOSTS, ...CONTS] }); // bridges, veths and rules live and die with these netns
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('firewall: tsrun against the reference', () => {
  it('bridge → portmap → firewall: byte-identical iptables-save, the same result JSON, the same state after DEL', async () => {
    const [h1, h2] = [HOSTS[0]!, HOSTS[1]!];
    const [c1, c2] = [CONTS[0]!, CONTS[1]!];
    const empty = save(h1);
    const lRef = chain(join(tmp, 'ipam-1'));
    const lOurs = chain(join(tmp, 'ipam-2'));
    const rRef = await add(h1, REF, lRef, c1);
    const rOurs = await add(h2, OURS, lOurs, c2);
    expect(stable(rOurs)).toEqual(stable(rRef));
    expect(rOurs.ips.map((i) => i.address)).toEqual(['10.241.1.2/24', 'fd00:241:1::2/64']);
    const saved = save(h2);
    expect(saved).toBe(save(h1));
    for (const want of ['-A CNI-FORWARD -d 10.241.1.2/32 -m conntrack', '-A CNI-FORWARD -s fd00:241:1::2/128 -j ACCEPT', '-A CNI-ISOLATION-STAGE-2 -o tsfwbr0', 'CNI-DN-', '-j MASQUERADE']) {
      expect(saved).toContain(want);
    }
    await del(h1, REF, lRef, rRef, c1);
    await del(h2, OURS, lOurs, rOurs, c2);
    const left = save(h2);
    expect(left).toBe(save(h1));
    expect(left).not.toBe(empty); // the shared chains stay, in both
    expect(left).not.toContain('10.241.1.2');
    expect(left).not.toContain('CNI-DN-');
  });

  it('each deletes the other\'s rules: reference ADD → tsrun DEL, tsrun ADD → reference DEL', async () => {
    for (const [i, adder, deleter] of [[2, REF, OURS], [3, OURS, REF]] as const) {
      const [h, cont] = [HOSTS[i]!, CONTS[i]!];
      const l = chain(join(tmp, `ipam-${i}`));
      await del(h, REF, l, await add(h, REF, l, cont), cont);
      const afterRefCycle = save(h); // what the reference's own ADD then DEL leaves (its shared chains)
      const r = await add(h, adder, l, cont);
      expect(save(h)).not.toBe(afterRefCycle);
      await del(h, deleter, l, r, cont);
      expect(save(h)).toBe(afterRefCycle);
    }
  });

  it('CHECK agrees with the reference on the other\'s rules', async () => {
    const h = HOSTS[4]!;
    const l = chain(join(tmp, 'ipam-5'));
    const r = await add(h, REF, l, CONTS[4]!);
    await exec(h, OURS, 'CHECK', l, 2, r, CONTS[4]!);
    await del(h, REF, l, r, CONTS[4]!);
    await expect(exec(h, OURS, 'CHECK', l, 2, r, CONTS[4]!)).rejects.toThrow(/expected rule \[-d 10\.241\.1\.\d+\/32 -m conntrack/);
    // The reference checks its rules in Go map order: any rule of either address (v4 or v6) may be the one it names.
    await expect(exec(h, REF, 'CHECK', l, 2, r, CONTS[4]!)).rejects.toThrow(/expected rule \[-[ds] (10\.241\.1\.\d+\/32|fd00:241:1::\w+\/128) /);
  });
});

describe.skipIf(!isRoot)('batched iptables: a batch that fails midway leaves nothing', () => {
  it('portmap\'s restore is refused midway: the chain ADD fails, and the rollback of bridge leaves the host as it was', async () => {
    const h = HOSTS[4]!;
    const cont = CONTS[4]!;
    const conf = join(tmp, 'conf-fail');
    mkdirSync(conf, { recursive: true });
    const dataDir = join(tmp, 'ipam-fail');
    const list = {
      cniVersion: '1.0.0', name: 'tsfw-fail',
      plugins: [
        { type: 'bridge', bridge: 'tsfwbr3', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.241.3.0/24' }]] } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall', backend: 'iptables' },
      ],
    };
    writeFileSync(join(conf, 'tsfw-fail.conflist'), JSON.stringify(list));
    const before = save(h);
    // iptables knows no protocol "nosuchproto": a rule after the shared chains in portmap's batch is refused
    const capArgs = JSON.stringify({ portMappings: [{ hostPort: 18441, containerPort: 80, protocol: 'tcp' }, { hostPort: 18442, containerPort: 81, protocol: 'nosuchproto' }] });
    const r = await execa('ip', ['netns', 'exec', h, process.execPath, resolve('dist/tsrun.js'), 'net', 'add', 'tsfw-fail', `/run/netns/${cont}`,
      '--conf-dir', conf, '--cache-dir', join(tmp, 'cache-fail'), '--cni-path', REF, '--container-id', 'tsfw-cidf', '--cap-args', capArgs], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/portmap.*iptables-restore failed/s);
    expect(save(h)).toBe(before);
    expect(sh('ip', ['-n', cont, '-o', 'link']).split('\n').filter((l) => l.includes('eth0'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'tsfw-fail')).filter((f) => f.startsWith('10.'))).toEqual([]);
  });
});
