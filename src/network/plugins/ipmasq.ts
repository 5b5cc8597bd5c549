import { createHash } from 'node:crypto';
import { familyOf, parseCidr } from '../rtnetlink/ip.js';
import { applyLines, listTable, removeChainLines, ruleLine, type Iptables } from './iptables.js';
import { deleteFast } from './iptables-plan.js';

// Source NAT for a container's addresses, laid out like the reference's
// ip.SetupIPMasq: a per-container nat chain CNI-<hash> that accepts traffic to
// the container's own network and masquerades the rest (not multicast), and a
// POSTROUTING jump for each source address, all with the same comment.
// Teardown goes by chain, not by address: it needs neither the netns nor the
// result, so a DEL after the netns is gone still removes everything (the
// reference looks the addresses up in the netns and leaks the rules then).

export function chainName(network: string, containerId: string, prefix = ''): string {
  return `CNI-${prefix}${createHash('sha512').update(network + containerId).digest('hex')}`.slice(0, 28);
}

export const comment = (network: string, containerId: string): string => `name: "${network}" id: "${containerId}"`;

/**
 * Masquerading for all of a container's addresses of one family in one
 * iptables-restore, without listing first: the chain is created (or flushed)
 * and filled, and the POSTROUTING jumps appended. A jump left by an earlier
 * ADD would be doubled, and DEL removes every jump to the chain, so nothing
 * leaks. Rule order is the reference's (ACCEPT for the first address,
 * MASQUERADE, then ACCEPT for the others).
 */
export async function setupIpMasq(x: Iptables, cidrs: string[], chain: string, cmt: string): Promise<void> {
  for (const f of familiesOf(cidrs)) {
    const mine = cidrs.filter((c) => parseCidr(c).family === f);
    const tag = ['-m', 'comment', '--comment', cmt];
    const lines = [`:${chain} - [0:0]`];
    mine.forEach((cidr, i) => {
      lines.push(ruleLine('-A', chain, ['-d', cidr, ...tag, '-j', 'ACCEPT']));
      if (i === 0) lines.push(ruleLine('-A', chain, ['!', '-d', f === 4 ? '224.0.0.0/4' : 'ff00::/8', ...tag, '-j', 'MASQUERADE']));
    });
    // matches before the target, as `iptables -S` prints them: jumpsTo() finds them by their " -j <chain>" ending
    for (const cidr of mine) lines.push(ruleLine('-A', 'POSTROUTING', ['-s', parseCidr(cidr).address, ...tag, '-j', chain]));
    await applyLines(x, f, 'nat', lines);
  }
}

/** Removes every jump to the chain, then the chain, for the families given (needs no addresses, no netns). */
export async function teardownIpMasq(x: Iptables, chain: string, families: (4 | 6)[] = [4, 6]): Promise<void> {
  for (const f of families) {
    const have = await listTable(x, f, 'nat');
    if (have) await applyLines(x, f, 'nat', removeChainLines(have, chain));
  }
}

/**
 * The same when the addresses are known (DEL with a result): the jumps setupIpMasq
 * made, the flush and the delete in one restore, no listing; by listing when that fails.
 */
export async function teardownIpMasqKnown(x: Iptables, cidrs: string[], chain: string, cmt: string): Promise<void> {
  const addresses = [...new Set(cidrs.map((c) => parseCidr(c).address))];
  for (const f of familiesOf(addresses)) {
    const jumps = addresses.filter((a) => familyOf(a) === f).map((a) => ruleLine('-D', 'POSTROUTING', ['-s', a, '-m', 'comment', '--comment', cmt, '-j', chain]));
    await deleteFast(x, f, 'nat', [...jumps, `-F ${chain}`, `-X ${chain}`], (p) => p.removeChain(chain));
  }
}

export const familiesOf = (addresses: string[]): (4 | 6)[] => [...new Set(addresses.map((a) => familyOf(a.split('/')[0]!)))];
