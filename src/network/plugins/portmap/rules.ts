import { parseCidr } from '../../rtnetlink/ip.js';
import { networkOf } from '../host-local/range.js';
import { jumpsTo, ruleLine as line, type Listing as NatListing } from '../iptables.js';
import type { PortmapConf } from './config.js';

// The reference portmap's nat layout as iptables-restore text: three shared
// chains (CNI-HOSTPORT-DNAT from PREROUTING/OUTPUT for local destinations,
// CNI-HOSTPORT-SETMARK marking for masquerade, CNI-HOSTPORT-MASQ from
// POSTROUTING masquerading marked packets) and one CNI-DN-<hash> chain per
// container. Shared pieces are added only when the current listing lacks
// them, so the reference and tsrun can take turns on one host.

export const DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';

const markOf = (bit: number): string => `0x${(1 << bit >>> 0).toString(16)}/0x${(1 << bit >>> 0).toString(16)}`;

/** Shared chains and their fixed rules, as far as they are missing. Fixed rules are written exactly as -S prints them. */
export function sharedChainLines(have: NatListing, c: PortmapConf): string[] {
  const out: string[] = [];
  const mark = markOf(c.markBit);
  const ensure = (chain: string, rules: string[], entries: { chain: string; rule: string; insert?: boolean }[]): void => {
    if (!have.chains.has(chain)) out.push(`-N ${chain}`); // never ":", which would flush one made meanwhile (afterChainRace)
    for (const r of rules) if (!have.rules.includes(`-A ${chain} ${r}`)) out.push(`-A ${chain} ${r}`);
    for (const e of entries) {
      if (!have.rules.includes(`-A ${e.chain} ${e.rule} -j ${chain}`)) out.push(`${e.insert ? `-I ${e.chain} 1` : `-A ${e.chain}`} ${e.rule} -j ${chain}`);
    }
  };
  if (c.setMarkChain === 'CNI-HOSTPORT-SETMARK') {
    ensure('CNI-HOSTPORT-SETMARK', [`-m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${mark}`], []);
    ensure(MASQ_CHAIN, [`-m mark --mark ${mark} -j MASQUERADE`], [{ chain: 'POSTROUTING', rule: '-m comment --comment "CNI portfwd requiring masquerade"', insert: true }]);
  }
  const local = '-m addrtype --dst-type LOCAL';
  ensure(DNAT_CHAIN, [], [{ chain: 'PREROUTING', rule: local }, { chain: 'OUTPUT', rule: local }]);
  return out;
}

/** The container's chain (created or flushed by ":"), its rules, and its entry rules (old ones removed first). */
export function containerChainLines(have: NatListing, c: PortmapConf, family: 4 | 6, chain: string, containerId: string): string[] {
  const cidr = c.container[family]!;
  const ip = parseCidr(cidr).address;
  const out = [`:${chain} - [0:0]`, ...jumpsTo(have, chain).map((l) => l.replace(/^-A /, '-D '))];
  const comment = `dnat name: "${c.name}" id: "${containerId}"`.slice(0, 256);
  const byProto = new Map<string, string[]>();
  for (const m of c.mappings) byProto.set(m.protocol, [...(byProto.get(m.protocol) ?? []), String(m.hostPort)]);
  for (const proto of [...byProto.keys()].sort()) {
    const ports = byProto.get(proto)!;
    for (let i = 0; i < ports.length; i += 15) {
      out.push(line('-A', DNAT_CHAIN, ['-p', proto, '-m', 'comment', '--comment', comment, '-m', 'multiport', '--destination-ports', ports.slice(i, i + 15).join(','), '-j', chain]));
    }
  }
  for (const m of c.mappings) {
    if (m.hostIP && parseCidr(m.hostIP).family !== family) continue;
    const base = ['-p', m.protocol, '--dport', String(m.hostPort), ...(m.hostIP ? ['-d', m.hostIP] : [])];
    if (c.snat) {
      out.push(line('-A', chain, [...base, '-s', networkOf(cidr), '-j', c.setMarkChain]));
      if (family === 4) out.push(line('-A', chain, [...base, '-s', '127.0.0.1', '-j', c.setMarkChain]));
    }
    out.push(line('-A', chain, [...base, '-j', 'DNAT', '--to-destination', family === 4 ? `${ip}:${m.containerPort}` : `[${ip}]:${m.containerPort}`]));
  }
  return out;
}

