import type { Listing } from '../iptables.js';
import type { SharedChains } from '../prune.js';
import { adminJump, FORWARD_CHAIN, forwardJump } from './rules.js';

// Firewall's shared filter chains for `tsrun net prune` (../prune.ts):
// CNI-FORWARD, jumped to from FORWARD, and the admin chain(s) CNI-FORWARD
// jumps to first (CNI-ADMIN unless a config named another). An admin chain
// holding the admin's own rules keeps the whole set. The per-bridge isolation
// chains of ingressPolicy "same-bridge" are left alone.

const ADMIN_JUMP = `-A ${FORWARD_CHAIN} ${adminJump('')}`;

/** Firewall's shared chains as they are in `have`; undefined when CNI-FORWARD is not there. */
export function firewallShared(have: Listing): SharedChains | undefined {
  if (!have.chains.has(FORWARD_CHAIN)) return undefined;
  const admins = have.rules.filter((r) => r.startsWith(ADMIN_JUMP)).map((r) => r.slice(ADMIN_JUMP.length)).filter((c) => /^\S+$/.test(c));
  return {
    owner: 'firewall',
    chains: [FORWARD_CHAIN, ...admins],
    own: [`-A FORWARD ${forwardJump}`, ...admins.map((a) => `${ADMIN_JUMP}${a}`)],
  };
}
