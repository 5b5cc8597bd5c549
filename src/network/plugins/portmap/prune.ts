import { applyLines, jumpsTo, listTable, type Iptables } from '../iptables.js';
import type { PortmapConf } from './config.js';
import { DNAT_CHAIN, MASQ_CHAIN, sharedChainLines } from './rules.js';

// Portmap's shared chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ and the jumps to
// them from PREROUTING, OUTPUT and POSTROUTING) stay after the last DEL, as the
// reference's do, for the next ADD. `tsrun net prune` removes them when nothing
// uses them: each holds only the fixed rule portmap puts in it, and only the
// jumps portmap adds refer to it. The three go together or not at all (with
// SETMARK still marking, dropping MASQ would break a forwarded port). The
// removal is one iptables-restore that deletes exactly those rules, then each
// chain with -X, which the kernel refuses for a chain that still holds a rule
// or is still referred to: whatever came to use them meanwhile, the whole
// transaction fails and nothing changes. An ADD racing with it may fail and
// can be retried; it never finds half the chains.

export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
const SHARED = [DNAT_CHAIN, MASQ_CHAIN, SETMARK_CHAIN];

export interface PruneOutcome {
  family: 4 | 6;
  /** the chains removed */
  removed: string[];
  /** why they were kept, one reason per line (empty when removed or absent) */
  kept: string[];
}

/** The rules portmap itself writes for its shared chains (default mark bit), as `iptables -S` prints them. */
function ownRules(markBit: number): string[] {
  const conf = { name: '', mappings: [], snat: true, markBit, setMarkChain: SETMARK_CHAIN, container: {} } as PortmapConf;
  return sharedChainLines({ chains: new Set(), rules: [] }, conf)
    .filter((l) => !l.startsWith(':'))
    .map((l) => l.replace(/^-I (\S+) 1 /, '-A $1 '));
}

/** Removes portmap's shared nat chains of one family when nothing but portmap's own rules touch them. */
export async function pruneSharedChains(x: Iptables, family: 4 | 6, markBit = 13): Promise<PruneOutcome> {
  const out: PruneOutcome = { family, removed: [], kept: [] };
  const have = await listTable(x, family, 'nat');
  const present = SHARED.filter((c) => have?.chains.has(c));
  if (!have || !present.length) return out;
  const own = ownRules(markBit);
  for (const chain of present) {
    const inside = have.rules.filter((r) => r.startsWith(`-A ${chain} `) && !own.includes(r));
    const refs = [...jumpsTo(have, chain), ...have.rules.filter((r) => r.includes(` -g ${chain}`) || r.endsWith(` --goto ${chain}`))].filter((r) => !own.includes(r));
    if (inside.length) out.kept.push(`${chain} holds ${inside.length} rule(s) portmap's own are not (a container's published port, or another tool's): ${inside[0]}`);
    if (refs.length) out.kept.push(`${chain} is referred to by ${refs.length} rule(s) besides portmap's own jumps: ${refs[0]}`);
  }
  if (out.kept.length) return out;
  const lines = [...own.filter((r) => have.rules.includes(r)).map((r) => r.replace(/^-A /, '-D ')), ...present.map((c) => `-X ${c}`)];
  try {
    await applyLines(x, family, 'nat', lines);
  } catch (e) {
    out.kept.push(`the kernel refused the removal (they came into use meanwhile?): ${(e as Error).message}`);
    return out;
  }
  out.removed = present;
  return out;
}
