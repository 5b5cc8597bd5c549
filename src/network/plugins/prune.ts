import { applyLines, jumpsTo, listTable, type Iptables, type Listing, type Table } from './iptables.js';

// Some plugins leave shared chains after the last DEL, as the reference's do,
// for the next ADD: portmap's in nat, firewall's in filter. `tsrun net prune`
// removes one plugin's set when nothing uses it: each chain holds only the
// rules the plugin itself writes there, and only the plugin's own jumps refer
// to it. A set goes together or not at all. The removal is one
// iptables-restore that deletes exactly those rules, then each chain with -X,
// which the kernel refuses for a chain that still holds a rule or is still
// referred to: whatever came to use them meanwhile, the whole transaction
// fails and nothing changes. An ADD racing with it may fail and can be
// retried; it never finds half a set.

export interface SharedChains {
  /** the plugin that writes them, for the messages */
  owner: string;
  /** the chains, in the order -X removes them */
  chains: string[];
  /** the rules the plugin itself writes in and to them, as `iptables -S` prints them */
  own: string[];
}

export interface PruneOutcome {
  family: 4 | 6;
  table: Table;
  /** the chains removed */
  removed: string[];
  /** why they were kept, one reason per line (empty when removed or absent) */
  kept: string[];
}

/**
 * Removes one plugin's shared chains of one family and table when nothing but
 * its own rules touch them. `describe` says which chains and rules are the
 * plugin's, given the table as it is (undefined: none of its chains are here).
 */
export async function pruneShared(x: Iptables, family: 4 | 6, table: Table, describe: (have: Listing) => SharedChains | undefined): Promise<PruneOutcome> {
  const out: PruneOutcome = { family, table, removed: [], kept: [] };
  const have = await listTable(x, family, table);
  const set = have && describe(have);
  const present = set?.chains.filter((c) => have!.chains.has(c)) ?? [];
  if (!have || !set || !present.length) return out;
  for (const chain of present) {
    const inside = have.rules.filter((r) => r.startsWith(`-A ${chain} `) && !set.own.includes(r));
    const refs = [...jumpsTo(have, chain), ...have.rules.filter((r) => r.includes(` -g ${chain}`) || r.endsWith(` --goto ${chain}`))].filter((r) => !set.own.includes(r));
    if (inside.length) out.kept.push(`${chain} holds ${inside.length} rule(s) that are not ${set.owner}'s own (a container's, or another tool's): ${inside[0]}`);
    if (refs.length) out.kept.push(`${chain} is referred to by ${refs.length} rule(s) besides ${set.owner}'s own jumps: ${refs[0]}`);
  }
  if (out.kept.length) return out;
  // every copy of an own rule (two racing ADDs of the reference may have doubled a jump), then the chains
  const lines = [...have.rules.filter((r) => set.own.includes(r)).map((r) => r.replace(/^-A /, '-D ')), ...present.map((c) => `-X ${c}`)];
  try {
    await applyLines(x, family, table, lines);
  } catch (e) {
    out.kept.push(`the kernel refused the removal (they came into use meanwhile?): ${(e as Error).message}`);
    return out;
  }
  out.removed = present;
  return out;
}
