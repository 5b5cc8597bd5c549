import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/bundle.js';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// `tsrun net prune` on real iptables, inside this file's own netns tsprune-h
// (its nat and filter tables are its own: the host's chains are never
// touched). The shared chains are written as portmap and firewall write them.

const NS = 'tsprune-h';
const PORTMAP_SHARED = [
  '*nat',
  ':CNI-HOSTPORT-DNAT - [0:0]',
  ':CNI-HOSTPORT-MASQ - [0:0]',
  ':CNI-HOSTPORT-SETMARK - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
  'COMMIT',
  '',
].join('\n');

const FIREWALL_SHARED = [
  '*filter',
  ':CNI-FORWARD - [0:0]',
  ':CNI-ADMIN - [0:0]',
  '-I FORWARD 1 -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
  '-I CNI-FORWARD 1 -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
  'COMMIT',
  '',
].join('\n');

const inNs = (cmd: string[], input?: string) => spawnSync('ip', ['netns', 'exec', NS, ...cmd], { encoding: 'utf8', input });
const nat = () => inNs(['iptables', '-t', 'nat', '-S']).stdout.split('\n').filter((l) => l && !l.startsWith('-P '));
const filter = () => inNs(['iptables', '-t', 'filter', '-S']).stdout.split('\n').filter((l) => l && !l.startsWith('-P '));
const prune = () => inNs([process.execPath, CLI, 'net', 'prune']);

beforeAll(() => {
  if (!isRoot) return;
  sh('ip', ['netns', 'add', NS]);
});
afterAll(() => {
  if (isRoot) cleanup({ netns: [NS] });
});

describe.skipIf(!isRoot)('tsrun net prune', () => {
  it("removes portmap's shared chains and jumps only when nothing else uses them", () => {
    expect(inNs(['iptables-restore', '--noflush'], PORTMAP_SHARED).status).toBe(0);
    const all = nat();
    expect(all).toHaveLength(8);

    // a published port inside the DNAT chain: kept, nothing changed
    expect(inNs(['iptables', '-t', 'nat', '-A', 'CNI-HOSTPORT-DNAT', '-p', 'tcp', '--dport', '18111', '-j', 'DNAT', '--to-destination', '10.2.111.2:80']).status).toBe(0);
    let r = prune();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^iptables nat: kept: CNI-HOSTPORT-DNAT holds 1 rule/m);
    expect(nat()).toHaveLength(9);
    expect(inNs(['iptables', '-t', 'nat', '-D', 'CNI-HOSTPORT-DNAT', '-p', 'tcp', '--dport', '18111', '-j', 'DNAT', '--to-destination', '10.2.111.2:80']).status).toBe(0);

    // another rule jumping to one of them: kept
    expect(inNs(['iptables', '-t', 'nat', '-A', 'PREROUTING', '-i', 'tsprx', '-j', 'CNI-HOSTPORT-DNAT']).status).toBe(0);
    r = prune();
    expect(r.stdout).toMatch(/^iptables nat: kept: CNI-HOSTPORT-DNAT is referred to by 1 rule/m);
    expect(nat()).toHaveLength(9);
    expect(inNs(['iptables', '-t', 'nat', '-D', 'PREROUTING', '-i', 'tsprx', '-j', 'CNI-HOSTPORT-DNAT']).status).toBe(0);
    expect(nat()).toEqual(all);

    // only portmap's own: all three go, with their jumps
    r = prune();
    expect(r.stdout).toBe('iptables nat: removed CNI-HOSTPORT-DNAT, CNI-HOSTPORT-MASQ, CNI-HOSTPORT-SETMARK\n');
    expect(nat()).toEqual([]);
    expect(prune().stdout).toBe('');
  });

  it("removes firewall's CNI-FORWARD and CNI-ADMIN and the FORWARD jump only when no container's or admin's rule is in them", () => {
    expect(inNs(['iptables-restore', '--noflush'], FIREWALL_SHARED).status).toBe(0);
    const all = filter();
    expect(all).toHaveLength(4);

    // a container's rule in CNI-FORWARD, then an admin's rule in CNI-ADMIN: kept, nothing changed
    for (const [chain, rule] of [['CNI-FORWARD', ['-s', '10.2.112.2/32', '-j', 'ACCEPT']], ['CNI-ADMIN', ['-s', '10.2.112.9/32', '-j', 'DROP']]] as const) {
      expect(inNs(['iptables', '-A', chain, ...rule]).status).toBe(0);
      const r = prune();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`iptables filter: kept: ${chain} holds 1 rule(s) that are not firewall's own (a container's, or another tool's): -A ${chain} ${rule.join(' ')}\n`);
      expect(filter()).toHaveLength(5);
      expect(inNs(['iptables', '-D', chain, ...rule]).status).toBe(0);
    }
    expect(filter()).toEqual(all);

    const r = prune();
    expect(r.stdout).toBe('iptables filter: removed CNI-FORWARD, CNI-ADMIN\n');
    expect(filter()).toEqual([]);
    expect(prune().stdout).toBe('');
  });
});

