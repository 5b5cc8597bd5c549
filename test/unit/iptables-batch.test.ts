import { describe, expect, it } from 'vitest';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { FakeIptables } from '../../src/network/plugins/fake-iptables.js';
import { InProcessPluginExec } from '../../src/network/plugins/in-process-exec.js';
import { applyToListing, inBatch, IptablesBatch } from '../../src/network/plugins/iptables-batch.js';
import { afterChainRace, listTable, mustListTable, parseListing, parseSave, type Iptables } from '../../src/network/plugins/iptables.js';
import { deleteFast } from '../../src/network/plugins/iptables-plan.js';
import type { PluginExec } from '../../src/network/cni/exec.js';
import type { PluginDeps } from '../../src/network/plugins/skel.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { startExplaining, stopExplaining } from '../../src/explain/events.js';

// A chain's iptables changes in one restore per family (iptables-batch.ts):
// the same rules as one restore per plugin, later plugins planning on what
// earlier ones held back, nothing applied when the chain fails, and DEL's
// fallback when the batched deletions are refused.

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'tsbatchbr0' }, { name: 'vethx' }, { name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [{ address: '10.246.41.2/24', interface: 2 }],
};
const confs = {
  portmap: { cniVersion: '1.0.0', name: 'tsbatch-u', type: 'portmap', snat: false, prevResult, runtimeConfig: { portMappings: [{ hostPort: 18461, containerPort: 80, protocol: 'tcp' }] } },
  firewall: { cniVersion: '1.0.0', name: 'tsbatch-u', type: 'firewall', backend: 'iptables', prevResult },
};

/** A FakeIptables where another process changes the tables just before a restore: `race` once, then each of `races` in turn. */
class RacedIptables extends FakeIptables {
  race?: () => Promise<unknown>;
  races: (() => Promise<unknown>)[] = [];
  override async restore(family: 4 | 6, text: string) {
    const race = this.race ?? this.races.shift();
    this.race = undefined;
    if (race) await race();
    return super.restore(family, text);
  }
}

function world() {
  const iptables = new RacedIptables();
  const deps: PluginDeps = {
    sys: new FakeSyscalls(), netlink: new FakeNetlinkOpener(), iptables, sysctl: () => {},
    ipam: async () => ({}), random: () => Buffer.alloc(4),
  };
  const exec = new InProcessPluginExec({} as PluginExec, { deps });
  const call = async (type: keyof typeof confs, command: string, conf: object = confs[type]) => {
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: 'tsbatch-c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0' };
    const out = await exec.run(`builtin:${type}`, JSON.stringify(conf), env, 1000);
    if (out.exitCode !== 0) throw new Error(out.stdout);
  };
  // chains with rules, and chains of our own even when empty (the fake makes a table's built-ins on first look)
  const BUILTIN = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
  const state = () => JSON.stringify([...iptables.tables].flatMap(([k, t]) => [...t].filter(([c, rs]) => rs.length > 0 || !BUILTIN.includes(c)).map(([c, rs]) => [k, c, rs])));
  return { iptables, exec, call, state };
}

describe('iptables batch', () => {
  it('applyToListing: create/flush, append, insert first, delete, flush, remove', () => {
    const have = { chains: new Set(['A']), rules: ['-A A -j X', '-A POSTROUTING -j A'] };
    const after = applyToListing(have, [':B - [0:0]', '-A B -j Y', '-I POSTROUTING 1 -j B', ':A - [0:0]', '-A A -j Z', '-D POSTROUTING -j A', '-F B', '-X B']);
    expect([...after.chains]).toEqual(['A']);
    expect(after.rules).toEqual(['-A POSTROUTING -j B', '-A A -j Z']);
    expect(have.rules).toEqual(['-A A -j X', '-A POSTROUTING -j A']); // the listing given is left alone
  });

  it('ADD: the rules one restore per plugin makes, in one restore for the chain', async () => {
    const one = world();
    await one.call('portmap', 'ADD');
    await one.call('firewall', 'ADD');
    expect(one.iptables.restores).toHaveLength(2);
    const batched = world();
    await batched.exec.batch('ADD', async () => {
      await batched.call('portmap', 'ADD');
      await batched.call('firewall', 'ADD');
      expect(batched.iptables.restores).toEqual([]); // held back until the chain is done
    });
    expect(batched.iptables.restores).toHaveLength(1);
    expect(batched.iptables.restores[0]).toMatch(/^4 \*nat\n[^]*COMMIT\n\*filter\n[^]*COMMIT\n$/);
    expect(batched.state()).toBe(one.state());
  });

  it('ADD under --explain: each plugin has its own reporting wrapper, and the chain still makes one restore, reported once', async () => {
    const events: string[] = [];
    startExplaining((e) => void (e.kind === 'net' && events.push(e.call)), 'runtime');
    try {
      const w = world();
      await w.exec.batch('ADD', async () => {
        await w.call('portmap', 'ADD');
        await w.call('firewall', 'ADD');
      });
      expect(w.iptables.restores).toHaveLength(1);
      expect(events.filter((c) => c.startsWith('iptables-restore'))).toHaveLength(1);
    } finally {
      stopExplaining();
    }
  });

  it('ADD: a later plugin plans on what an earlier one held back (no second shared chain, no duplicate rule)', async () => {
    const w = world();
    const second = { ...confs.portmap, runtimeConfig: { portMappings: [{ hostPort: 18462, containerPort: 81, protocol: 'tcp' }] } };
    await w.exec.batch('ADD', async () => {
      await w.call('portmap', 'ADD');
      await w.call('portmap', 'ADD', second); // same container: replaces its chain, the shared ones stay single
    });
    const single = world();
    await single.call('portmap', 'ADD', second);
    expect(w.state()).toBe(single.state());
  });

  it('ADD: a chain that fails applies nothing; a refused line names its plugin', async () => {
    const w = world();
    const before = w.state();
    await expect(w.exec.batch('ADD', async () => {
      await w.call('portmap', 'ADD');
      throw new Error('a later plugin failed');
    })).rejects.toThrow(/a later plugin failed/);
    expect(w.iptables.restores).toEqual([]);
    expect(w.state()).toBe(before);
    w.iptables.failWhen = 'CNI-FORWARD';
    await expect(w.exec.batch('ADD', async () => {
      await w.call('portmap', 'ADD');
      await w.call('firewall', 'ADD');
    })).rejects.toThrow(/^firewall: iptables-restore failed/);
  });

  it('DEL: one restore for the chain; when it is refused, each plugin deletes alone with its fallback', async () => {
    const w = world();
    await w.call('portmap', 'ADD');
    await w.call('firewall', 'ADD');
    const empty = world();
    await empty.call('portmap', 'ADD');
    await empty.call('firewall', 'ADD');
    await empty.call('firewall', 'DEL');
    await empty.call('portmap', 'DEL');
    w.iptables.restores.length = 0;
    await w.exec.batch('DEL', async () => {
      await w.call('firewall', 'DEL');
      await w.call('portmap', 'DEL');
    });
    expect(w.iptables.restores).toHaveLength(1);
    expect(w.state()).toBe(empty.state());

    // the firewall's rules are gone already: the batch is refused, the fallbacks list and delete the rest
    const v = world();
    await v.call('portmap', 'ADD');
    await v.call('firewall', 'ADD');
    await v.call('firewall', 'DEL');
    await v.exec.batch('DEL', async () => {
      await v.call('firewall', 'DEL');
      await v.call('portmap', 'DEL');
    });
    expect(v.state()).toBe(empty.state());
  });

  it('DEL: startDeletions applies what is held so far at once; the rest waits for the end', async () => {
    const x = new FakeIptables();
    await x.restore(4, '*nat\n:CNI-A - [0:0]\n-A POSTROUTING -j CNI-A\n:CNI-B - [0:0]\n-A POSTROUTING -j CNI-B\nCOMMIT\n');
    x.restores.length = 0;
    const b = new IptablesBatch('del', (d) => deleteFast(d.x, d.family, d.table, d.lines, d.plan));
    await inBatch(b, async () => {
      await deleteFast(x, 4, 'nat', ['-D POSTROUTING -j CNI-A', '-X CNI-A'], (p) => p.removeChain('CNI-A'));
      b.startDeletions();
      await deleteFast(x, 4, 'nat', ['-D POSTROUTING -j CNI-B', '-X CNI-B'], (p) => p.removeChain('CNI-B'));
    });
    expect(await b.flushDeletions()).toEqual([]);
    expect(x.restores).toEqual(['4 *nat\n-D POSTROUTING -j CNI-A\n-X CNI-A\nCOMMIT\n', '4 *nat\n-D POSTROUTING -j CNI-B\n-X CNI-B\nCOMMIT\n']);
    expect(x.rules(4, 'nat', 'POSTROUTING')).toEqual([]);
    expect(x.rules(4, 'nat', 'CNI-A')).toBeUndefined();
  });

  it('parseSave reads iptables-save output as parseListing reads -S (nf_tables iptables 1.8.9, the same rules)', () => {
    const save = [
      '# Generated by iptables-save v1.8.9 (nf_tables) on Mon Dec  7 23:54:05 2026',
      '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [3:180]', ':CNI-FORWARD - [0:0]',
      '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD', 'COMMIT',
      '*nat', ':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':TSBATCH-T - [0:0]',
      '-A POSTROUTING -s 10.246.41.5/32 -j TSBATCH-T',
      '-A TSBATCH-T -d 10.246.41.0/24 -m comment --comment "name: \\"snap\\" id: \\"x y\\"" -j ACCEPT', 'COMMIT',
      '# Completed on Mon Dec  7 23:54:05 2026', '',
    ].join('\n');
    const dashS = [
      '-P PREROUTING ACCEPT', '-P POSTROUTING ACCEPT', '-N TSBATCH-T',
      '-A POSTROUTING -s 10.246.41.5/32 -j TSBATCH-T',
      '-A TSBATCH-T -d 10.246.41.0/24 -m comment --comment "name: \\"snap\\" id: \\"x y\\"" -j ACCEPT', '',
    ].join('\n');
    const tables = parseSave(save);
    expect([...tables.keys()]).toEqual(['filter', 'nat']);
    expect(tables.get('nat')).toEqual(parseListing(dashS));
    expect([...tables.get('filter')!.chains]).toEqual(['CNI-FORWARD']); // built-in chains have a policy, not "-"
  });

  it('ADD: the chain reads each family once, by iptables-save, however many plugins list tables', async () => {
    const w = world();
    await w.exec.batch('ADD', async () => {
      await w.call('portmap', 'ADD'); // lists nat
      await w.call('firewall', 'ADD'); // lists filter
    });
    expect(w.iptables.calls.filter((c) => c.endsWith(' save'))).toEqual(['4 save']);
    expect(w.iptables.calls.filter((c) => / -S( |$)/.test(c))).toEqual([]);
    // the same rules as listing each table with -S, one plugin at a time
    const one = world();
    await one.call('portmap', 'ADD');
    await one.call('firewall', 'ADD');
    expect(w.state()).toBe(one.state());
  });

  it('ADD: a failed iptables-save is a failed listing: undefined, or the error when the table is required', async () => {
    const x = new FakeIptables();
    const broken: Iptables = { run: (f, a) => x.run(f, a), restore: (f, t) => x.restore(f, t), save: async () => ({ code: 4, stdout: '', stderr: 'iptables-save: no nf_tables' }) };
    await inBatch(new IptablesBatch('add'), async () => {
      expect(await listTable(broken, 4, 'nat')).toBeUndefined();
      await expect(mustListTable(broken, 4, 'nat')).rejects.toThrow('running [iptables-save]: exit status 4: iptables-save: no nf_tables');
    });
  });

  describe('a shared chain another process creates after the tables were read', () => {
    // The reference's portmap and firewall (or a second tsrun) making the same
    // chains at once: one container's DNAT and one's firewall rule in them.
    const other = async (x: FakeIptables, only?: 'nat' | 'filter') => {
      for (const args of [
        ['-t', 'nat', '-N', 'CNI-HOSTPORT-DNAT'],
        ['-t', 'nat', '-A', 'CNI-HOSTPORT-DNAT', '-p', 'tcp', '-m', 'comment', '--comment', 'dnat name: "other" id: "c9"', '-m', 'multiport', '--destination-ports', '18999', '-j', 'CNI-DN-other'],
        ['-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'],
        ['-t', 'filter', '-N', 'CNI-FORWARD'],
        ['-t', 'filter', '-N', 'CNI-ADMIN'],
        ['-t', 'filter', '-I', 'FORWARD', '1', '-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD'],
        ['-t', 'filter', '-A', 'CNI-FORWARD', '-m', 'comment', '--comment', 'CNI firewall plugin admin overrides', '-j', 'CNI-ADMIN'],
        ['-t', 'filter', '-A', 'CNI-FORWARD', '-s', '10.246.41.9/32', '-j', 'ACCEPT'],
      ]) if (!only || args[1] === only) expect((await x.run(4, args)).code).toBe(0);
    };
    const theirs = (w: ReturnType<typeof world>) => ({
      dnat: w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')!.filter((r) => r.includes('id: "c9"')),
      forward: w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.41.9')),
    });
    const expectBoth = (w: ReturnType<typeof world>) => {
      expect(theirs(w).dnat).toHaveLength(1);
      expect(theirs(w).forward).toHaveLength(1);
      expect(w.iptables.rules(4, 'nat', 'CNI-HOSTPORT-DNAT')!.filter((r) => r.includes('tsbatch-c1'))).toHaveLength(1);
      expect(w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.41.2/32'))).toHaveLength(2);
      // each shared jump and fixed rule once
      expect(w.iptables.rules(4, 'nat', 'PREROUTING')!.filter((r) => r.endsWith('CNI-HOSTPORT-DNAT'))).toHaveLength(1);
      expect(w.iptables.rules(4, 'filter', 'FORWARD')!.filter((r) => r.endsWith('CNI-FORWARD'))).toHaveLength(1);
      expect(w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.endsWith('CNI-ADMIN'))).toHaveLength(1);
    };

    it('batched ADD: the restore is refused (-N, never a flushing ":"), made again for the tables as they are, and their rules stay', async () => {
      const w = world();
      w.iptables.race = () => other(w.iptables);
      await w.exec.batch('ADD', async () => {
        await w.call('portmap', 'ADD');
        await w.call('firewall', 'ADD');
      });
      expect(w.iptables.restores).toHaveLength(2);
      expect(w.iptables.restores[0]).toMatch(/\n-N CNI-HOSTPORT-DNAT\n/);
      expect(w.iptables.restores[1]).not.toMatch(/-N CNI-HOSTPORT-DNAT|-N CNI-FORWARD/);
      expectBoth(w);
    });

    it('ADD of one plugin at a time: the same, through applyLines', async () => {
      const w = world();
      w.iptables.race = () => other(w.iptables);
      await w.call('portmap', 'ADD');
      w.iptables.race = () => Promise.resolve(); // the filter chains are there already
      await w.call('firewall', 'ADD');
      expectBoth(w);
      const again = world();
      await again.call('portmap', 'ADD');
      again.iptables.race = () => other(again.iptables, 'filter');
      await again.call('firewall', 'ADD');
      expect(theirs(again).forward).toHaveLength(1);
      expect(again.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.41.2/32'))).toHaveLength(2);
    });

    it('batched ADD: a table committed before the refused one is not applied again (iptables-restore commits per table)', async () => {
      const w = world();
      await w.call('firewall', 'ADD', { ...confs.firewall, prevResult: { ...prevResult, ips: [{ address: '10.246.41.7/24', interface: 2 }] } }); // CNI-FORWARD is there before
      w.iptables.race = () => other(w.iptables, 'nat');
      await w.exec.batch('ADD', async () => {
        await w.call('firewall', 'ADD'); // the filter section comes first and commits
        await w.call('portmap', 'ADD'); // the nat section's -N is refused
      });
      expect(w.iptables.restores.slice(-2).map((r) => r.match(/\*\w+/g))).toEqual([['*filter', '*nat'], ['*nat']]);
      expect(w.iptables.rules(4, 'filter', 'CNI-FORWARD')!.filter((r) => r.includes('10.246.41.2/32'))).toHaveLength(2);
      expect(theirs(w).dnat).toHaveLength(1);
      expect(w.iptables.rules(4, 'nat', 'PREROUTING')!.filter((r) => r.endsWith('CNI-HOSTPORT-DNAT'))).toHaveLength(1);
    });

    it('raced again on the retry (the reference makes its chains one exec at a time): made again until nothing raced is left', async () => {
      const w = world();
      const snat = { ...confs.portmap, snat: true };
      w.iptables.races = [
        () => w.iptables.run(4, ['-t', 'nat', '-N', 'CNI-HOSTPORT-SETMARK']),
        () => w.iptables.run(4, ['-t', 'nat', '-N', 'CNI-HOSTPORT-MASQ']),
      ];
      await w.call('portmap', 'ADD', snat);
      expect(w.iptables.restores).toHaveLength(3);
      const single = world();
      await single.call('portmap', 'ADD', snat);
      expect(w.state()).toBe(single.state());
    });

    it('afterChainRace: undefined when no -N chain exists now (another failure); else drops the -N and what is already there', () => {
      const lines = ['-N A', '-A A -j MARK', '-I POSTROUTING 1 -j A', '-A POSTROUTING -s 10.0.0.2 -j A', ':CNI-DN-x - [0:0]', '-A CNI-DN-x -j DNAT'];
      expect(afterChainRace(lines, { chains: new Set(), rules: [] })).toBeUndefined();
      expect(afterChainRace(lines, { chains: new Set(['A']), rules: ['-A A -j MARK', '-A POSTROUTING -j A'] })).toEqual(['-A POSTROUTING -s 10.0.0.2 -j A', ':CNI-DN-x - [0:0]', '-A CNI-DN-x -j DNAT']);
      expect(afterChainRace(lines, { chains: new Set(['A']), rules: [] })).toEqual(lines.slice(1));
    });
  });
});

