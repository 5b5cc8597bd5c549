import { createHash } from 'node:crypto';
import { familyOf, parseCidr } from '../rtnetlink/ip.js';
import { appendUnique, deleteChain, deleteJumpsTo, ensureChain, type Iptables } from './iptables.js';

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

export async function setupIpMasq(x: Iptables, cidr: string, chain: string, cmt: string): Promise<void> {
  const c = parseCidr(cidr);
  const f = c.family;
  const tag = ['-m', 'comment', '--comment', cmt];
  await ensureChain(x, f, 'nat', chain);
  await appendUnique(x, f, 'nat', chain, ['-d', cidr, '-j', 'ACCEPT', ...tag]);
  await appendUnique(x, f, 'nat', chain, ['!', '-d', f === 4 ? '224.0.0.0/4' : 'ff00::/8', '-j', 'MASQUERADE', ...tag]);
  await appendUnique(x, f, 'nat', 'POSTROUTING', ['-s', c.address, '-j', chain, ...tag]);
}

/** Removes every POSTROUTING jump to the chain, then the chain, for the families given. */
export async function teardownIpMasq(x: Iptables, chain: string, families: (4 | 6)[] = [4, 6]): Promise<void> {
  for (const f of families) {
    await deleteJumpsTo(x, f, 'nat', 'POSTROUTING', chain);
    await deleteChain(x, f, 'nat', chain);
  }
}

export const familiesOf = (addresses: string[]): (4 | 6)[] => [...new Set(addresses.map((a) => familyOf(a.split('/')[0]!)))];
