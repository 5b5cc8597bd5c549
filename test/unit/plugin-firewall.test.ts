import { describe, expect, it } from 'vitest';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { FakeIptables } from '../../src/network/plugins/fake-iptables.js';
import { firewall } from '../../src/network/plugins/firewall/index.js';
import { firewallShared } from '../../src/network/plugins/firewall/prune.js';
import { pruneShared } from '../../src/network/plugins/prune.js';
import { runBuiltin } from '../../src/network/plugins/run.js';
import type { PluginDeps, PluginRequest } from '../../src/network/plugins/skel.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { TsrunError } from '../../src/errors.js';

// firewall on fakes: the reference's filter chains and rules, one listing and
// one atomic restore per family, DEL of the address rules only, CHECK in the
// reference's words, and nothing left when a batch fails.
async function caught(p: Promise<unknown>): Promise<TsrunError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    return err as TsrunError;
  }
  throw new Error('expected a TsrunError');
}

function world() {
  const iptables = new FakeIptables();
  const deps: PluginDeps = {
    sys: new FakeSyscalls(), netlink: new FakeNetlinkOpener(), iptables, sysctl: () => {},
    ipam: async () => ({}), random: () => Buffer.alloc(4),
  };
  return { deps, iptables };
}

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'tsfwbr0' }, { name: 'vethx' }, { name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [{ address: '10.246.31.2/24', interface: 2 }, { address: 'fd00:246:31::2/64', interface: 2 }],
};
const req = (command: PluginRequest['command'], conf: object = {}, containerId = 'c1'): PluginRequest => ({
  command, containerId, netns: '/run/netns/x', ifName: 'eth0', args: '', path: [],
  conf: { cniVersion: '1.0.0', name: 'tsfw-u', type: 'firewall', backend: 'iptables', prevResult, ...conf },
});
const show = (x: FakeIptables, f: 4 | 6, chain: string) => x.rules(f, 'filter', chain)?.map((r) => r.split('\0').join(' '));
const FWD = '-m comment --comment CNI firewall plugin rules -j CNI-FORWARD';
const ADMIN = '-m comment --comment CNI firewall plugin admin overrides -j CNI-ADMIN';

describe('firewall on fakes', () => {
  it('ADD: CNI-FORWARD and CNI-ADMIN, the jumps first, two rules per address; one -S and one restore per family', async () => {
    const w = world();
    const r = await firewall.add(req('ADD'), w.deps);
    expect(r).toEqual({ ...prevResult, dns: {} });
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([FWD]);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toEqual([
      ADMIN,
      '-d 10.246.31.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-s 10.246.31.2/32 -j ACCEPT',
    ]);
    expect(show(w.iptables, 6, 'CNI-FORWARD')).toEqual([
      ADMIN,
      '-d fd00:246:31::2/128 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-s fd00:246:31::2/128 -j ACCEPT',
    ]);
    expect(show(w.iptables, 4, 'CNI-ADMIN')).toEqual([]);
    expect(w.iptables.calls.filter((c) => c.endsWith('-t filter -S'))).toEqual(['4 -t filter -S', '6 -t filter -S']);
    expect(w.iptables.restores).toHaveLength(2);
  });

  it('a second container and a repeated ADD add no second jump or rule; IPv4 only touches no ip6tables', async () => {
    const w = world();
    const v4 = { ...prevResult, ips: [prevResult.ips[0]] };
    await firewall.add(req('ADD', { prevResult: v4 }), w.deps);
    await firewall.add(req('ADD', { prevResult: v4 }), w.deps);
    await firewall.add(req('ADD', { prevResult: { ...v4, ips: [{ address: '10.246.31.3/24' }] } }, 'c2'), w.deps);
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([FWD]);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toHaveLength(5);
    expect(w.iptables.calls.filter((c) => c.startsWith('6'))).toEqual([]);
    expect(w.iptables.restores).toHaveLength(2); // the repeat had nothing to write
  });

  it('DEL removes the address rules only, keeps the shared chains, and is idempotent; no prevResult, nothing to do', async () => {
    const w = world();
    await firewall.add(req('ADD'), w.deps);
    const before = w.iptables.calls.length;
    await firewall.del(req('DEL'), w.deps);
    // everything was there: one restore per family, no listing (the slow path lists)
    expect(w.iptables.calls.slice(before).filter((c) => c.endsWith(' -S'))).toEqual([]);
    expect(w.iptables.restores.slice(-2).map((r) => r.split('\n').filter((l) => l.startsWith('-D')).length)).toEqual([2, 2]);
    await firewall.del(req('DEL'), w.deps);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toEqual([ADMIN]);
    expect(show(w.iptables, 6, 'CNI-FORWARD')).toEqual([ADMIN]);
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([FWD]);
    const calls = w.iptables.calls.length;
    await firewall.del(req('DEL', { prevResult: undefined }), w.deps);
    expect(w.iptables.calls).toHaveLength(calls);
  });

  it('CHECK passes after ADD and names the first missing rule as the reference does', async () => {
    const w = world();
    expect((await caught(firewall.check!(req('CHECK'), w.deps))).message).toBe(
      'expected FORWARD rule [-m comment --comment CNI firewall plugin rules -j CNI-FORWARD] not found',
    );
    await firewall.add(req('ADD'), w.deps);
    await firewall.check!(req('CHECK'), w.deps);
    await firewall.del(req('DEL'), w.deps);
    expect((await caught(firewall.check!(req('CHECK'), w.deps))).message).toBe(
      'expected rule [-d 10.246.31.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT] not found',
    );
  });

  it('ingressPolicy same-bridge: the isolation chains for the first interface, jumped to before CNI-FORWARD', async () => {
    const w = world();
    await firewall.add(req('ADD', { ingressPolicy: 'same-bridge' }), w.deps);
    const c = '-m comment --comment CNI firewall plugin rules (ingressPolicy: same-bridge)';
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([`${c} -j CNI-ISOLATION-STAGE-1`, FWD]);
    expect(show(w.iptables, 4, 'CNI-ISOLATION-STAGE-1')).toEqual([`-i tsfwbr0 ! -o tsfwbr0 ${c} -j CNI-ISOLATION-STAGE-2`, `${c} -j RETURN`]);
    expect(show(w.iptables, 4, 'CNI-ISOLATION-STAGE-2')).toEqual([`-o tsfwbr0 ${c} -j DROP`, `${c} -j RETURN`]);
    await firewall.add(req('ADD', { ingressPolicy: 'same-bridge', prevResult: { ...prevResult, interfaces: [{ name: 'tsfwbr1' }] } }, 'c2'), w.deps);
    expect(show(w.iptables, 4, 'CNI-ISOLATION-STAGE-1')).toHaveLength(3);
    expect(show(w.iptables, 4, 'FORWARD')).toHaveLength(2);
  });

  it('a failing batch leaves nothing: the family done before is taken back, the failing one was atomic', async () => {
    const w = world();
    w.iptables.failWhen = 'fd00:246:31::2/128 -j ACCEPT';
    const err = await caught(firewall.add(req('ADD'), w.deps));
    expect(err.message).toMatch(/ip6tables-restore failed/);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toEqual([ADMIN]);
    expect(show(w.iptables, 6, 'CNI-FORWARD')).toBeUndefined();
    expect(show(w.iptables, 6, 'FORWARD')).toEqual([]);
  });

  it('refuses what the reference refuses: old versions (code 1), no prevResult, an unknown policy, firewalld; before any rule', async () => {
    const w = world();
    const old = await caught(firewall.add(req('ADD', { cniVersion: '0.3.1' }), w.deps));
    expect(old.cniCode).toBe(1);
    expect((await caught(firewall.add(req('ADD', { prevResult: undefined }), w.deps))).message).toBe('missing prevResult from earlier plugin');
    expect((await caught(firewall.add(req('ADD', { ingressPolicy: 'x' }), w.deps))).message).toBe('unknown ingress policy: "x"');
    expect((await caught(firewall.add(req('ADD', { backend: 'firewalld' }), w.deps))).message).toMatch(/firewalld backend is not built in/);
    expect(w.iptables.calls).toEqual([]);
    const v = (await runBuiltin('firewall', 'VERSION', { ...req('ADD'), conf: { cniVersion: '1.0.0' } }, w.deps)) as { supportedVersions: string[] };
    expect(v.supportedVersions).toEqual(['0.4.0', '1.0.0', '1.1.0']);
  });
});

describe('pruning the shared chains (tsrun net prune)', () => {
  const prune = (w: ReturnType<typeof world>, f: 4 | 6) => pruneShared(w.iptables, f, 'filter', firewallShared);

  it('keeps CNI-FORWARD and CNI-ADMIN while a container has rules, removes both and the FORWARD jump after its DEL', async () => {
    const w = world();
    await firewall.add(req('ADD'), w.deps);
    const kept = await prune(w, 4);
    expect(kept.removed).toEqual([]);
    expect(kept.kept).toEqual(["CNI-FORWARD holds 2 rule(s) that are not firewall's own (a container's, or another tool's): -A CNI-FORWARD -d 10.246.31.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]);
    await firewall.del(req('DEL'), w.deps);
    for (const f of [4, 6] as const) {
      expect(await prune(w, f)).toEqual({ family: f, table: 'filter', removed: ['CNI-FORWARD', 'CNI-ADMIN'], kept: [] });
      expect(show(w.iptables, f, 'CNI-FORWARD')).toBeUndefined();
      expect(show(w.iptables, f, 'CNI-ADMIN')).toBeUndefined();
      expect(show(w.iptables, f, 'FORWARD')).toEqual([]);
      expect(await prune(w, f)).toEqual({ family: f, table: 'filter', removed: [], kept: [] });
    }
  });

  it("keeps the set while the admin chain holds the admin's rule, and finds an admin chain a config renamed", async () => {
    const w = world();
    await firewall.add(req('ADD'), w.deps);
    await firewall.del(req('DEL'), w.deps);
    await w.iptables.run(4, ['-t', 'filter', '-A', 'CNI-ADMIN', '-s', '10.246.31.9', '-j', 'DROP']);
    const r = await prune(w, 4);
    expect(r.removed).toEqual([]);
    expect(r.kept).toEqual(["CNI-ADMIN holds 1 rule(s) that are not firewall's own (a container's, or another tool's): -A CNI-ADMIN -s 10.246.31.9 -j DROP"]);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toEqual([ADMIN]);

    const v = world();
    await firewall.add(req('ADD', { iptablesAdminChainName: 'TSFW-ADMIN' }), v.deps);
    await firewall.del(req('DEL', { iptablesAdminChainName: 'TSFW-ADMIN' }), v.deps);
    expect((await prune(v, 4)).removed).toEqual(['CNI-FORWARD', 'TSFW-ADMIN']);
    expect(show(v.iptables, 4, 'TSFW-ADMIN')).toBeUndefined();
  });

  it('removes every copy of a doubled jump, and an empty CNI-ADMIN whose jump is gone', async () => {
    const w = world();
    await firewall.add(req('ADD'), w.deps);
    await firewall.del(req('DEL'), w.deps);
    await w.iptables.run(4, ['-t', 'filter', '-I', 'FORWARD', '1', '-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD']);
    await w.iptables.run(4, ['-t', 'filter', '-D', 'CNI-FORWARD', '-m', 'comment', '--comment', 'CNI firewall plugin admin overrides', '-j', 'CNI-ADMIN']);
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([FWD, FWD]);
    expect(await prune(w, 4)).toEqual({ family: 4, table: 'filter', removed: ['CNI-FORWARD', 'CNI-ADMIN'], kept: [] });
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([]);
    expect(show(w.iptables, 4, 'CNI-ADMIN')).toBeUndefined();
  });

  it('changes nothing when the kernel refuses the transaction, and nothing where the plugin never ran', async () => {
    const w = world();
    expect(await prune(w, 4)).toEqual({ family: 4, table: 'filter', removed: [], kept: [] });
    await firewall.add(req('ADD'), w.deps);
    await firewall.del(req('DEL'), w.deps);
    w.iptables.failWhen = '-X CNI-ADMIN';
    const r = await prune(w, 4);
    expect(r.removed).toEqual([]);
    expect(r.kept.join()).toMatch(/the kernel refused the removal/);
    expect(show(w.iptables, 4, 'FORWARD')).toEqual([FWD]);
    expect(show(w.iptables, 4, 'CNI-FORWARD')).toEqual([ADMIN]);
  });
});
