import type { SharedChains } from '../prune.js';
import type { PortmapConf } from './config.js';
import { DNAT_CHAIN, MASQ_CHAIN, sharedChainLines } from './rules.js';

// Portmap's shared nat chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ and the
// jumps to them from PREROUTING, OUTPUT and POSTROUTING), for `tsrun net
// prune` (../prune.ts). The three go together or not at all: with SETMARK
// still marking, dropping MASQ would break a forwarded port.

export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';

/** The rules portmap itself writes for its shared chains (default mark bit), as `iptables -S` prints them. */
function ownRules(markBit: number): string[] {
  const conf = { name: '', mappings: [], snat: true, markBit, setMarkChain: SETMARK_CHAIN, container: {} } as PortmapConf;
  return sharedChainLines({ chains: new Set(), rules: [] }, conf)
    .filter((l) => l.startsWith('-A ') || l.startsWith('-I '))
    .map((l) => l.replace(/^-I (\S+) 1 /, '-A $1 '));
}

/** Portmap's shared chains and own rules, for pruneShared on the nat table. */
export const portmapShared = (markBit = 13) => (): SharedChains => ({ owner: 'portmap', chains: [DNAT_CHAIN, MASQ_CHAIN, SETMARK_CHAIN], own: ownRules(markBit) });
