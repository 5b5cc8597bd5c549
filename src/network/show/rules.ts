import { splitRule } from '../plugins/iptables.js';
import { chainName } from '../plugins/ipmasq.js';
import type { ChainView } from './model.js';

// The host rules of one attachment, read from iptables-save text: the
// masquerade chain CNI-<hash> (bridge/ptp ipMasq) with its POSTROUTING
// entries, the portmap chain CNI-DN-<hash> with its CNI-HOSTPORT-DNAT entries,
// and any other rule naming one of the container's addresses (the firewall
// plugin's CNI-FORWARD entries, for one). Chains are named and commented as
// the reference plugins do it, so rules they made are found too.

export type Table = 'nat' | 'filter';

/** Rules by table, as iptables-save prints them ("-A CHAIN …"), for one family. */
export type Ruleset = Record<Table, string[]>;

export function parseSave(text: string): Ruleset {
  const out: Ruleset = { nat: [], filter: [] };
  let table: Table | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line === '*nat' ? 'nat' : line === '*filter' ? 'filter' : undefined;
    else if (table && line.startsWith('-A ')) out[table].push(line);
  }
  return out;
}

const chainOf = (rule: string): string => rule.split(' ')[1] ?? '';
const targetOf = (rule: string): string | undefined => {
  const a = splitRule(rule);
  const i = a.lastIndexOf('-j');
  return i >= 0 ? a[i + 1] : undefined;
};
const commentOf = (rule: string): string | undefined => {
  const a = splitRule(rule);
  const i = a.indexOf('--comment');
  return i >= 0 ? a[i + 1] : undefined;
};

function chainView(rules: string[], table: Table, chain: string, entryComment: string): ChainView | undefined {
  const entries = rules.filter((r) => targetOf(r) === chain && commentOf(r) === entryComment);
  const own = rules.filter((r) => chainOf(r) === chain);
  return entries.length || own.length ? { table, chain, entries, rules: own } : undefined;
}

/** The masquerade chain of (network, container), or undefined when the kernel has none of it. */
export function masqueradeOf(rs: Ruleset, network: string, containerId: string): ChainView | undefined {
  return chainView(rs.nat, 'nat', chainName(network, containerId), `name: "${network}" id: "${containerId}"`);
}

/** The portmap DNAT chain of (network, container). */
export function portmapOf(rs: Ruleset, network: string, containerId: string): ChainView | undefined {
  return chainView(rs.nat, 'nat', chainName(network, containerId, 'DN-'), `dnat name: "${network}" id: "${containerId}"`.slice(0, 256));
}

export interface Dnat {
  protocol: string;
  hostPort: number;
  hostIP?: string;
  to: string;
}

/** The DNAT rules of a portmap chain: "-p tcp --dport 18080 [-d IP] -j DNAT --to-destination 10.0.0.2:80". */
export function dnatsOf(chain: ChainView | undefined): Dnat[] {
  const out: Dnat[] = [];
  for (const r of chain?.rules ?? []) {
    const a = splitRule(r);
    const at = (flag: string): string | undefined => (a.indexOf(flag) >= 0 ? a[a.indexOf(flag) + 1] : undefined);
    if (targetOf(r) !== 'DNAT') continue;
    const to = at('--to-destination');
    const dport = Number(at('--dport'));
    if (!to || !dport) continue;
    const d: Dnat = { protocol: at('-p') ?? 'tcp', hostPort: dport, to };
    const dst = at('-d');
    if (dst) d.hostIP = dst.replace(/\/(32|128)$/, '');
    out.push(d);
  }
  return out;
}

/**
 * Rules that name one of `addresses` as a single host (-s/-d IP/32 or /128),
 * outside the chains already shown: the firewall plugin's, or anybody's.
 */
export function rulesNaming(rs: Ruleset, addresses: string[], skipChains: string[]): string[] {
  const hosts = new Set(addresses.flatMap((a) => [`${a}/32`, `${a}/128`]));
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    for (const r of rs[table]) {
      if (skipChains.includes(chainOf(r)) || skipChains.includes(targetOf(r) ?? '')) continue;
      const a = splitRule(r);
      const named = a.some((x, i) => (x === '-s' || x === '-d' || x === '--source' || x === '--destination') && hosts.has(a[i + 1] ?? ''));
      if (named) out.push(table === 'nat' ? `-t nat ${r}` : r);
    }
  }
  return out;
}
