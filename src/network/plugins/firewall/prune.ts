import type { Listing } from '../iptables.js';
import type { SharedChains } from '../prune.js';
import { adminJump, FORWARD_CHAIN, forwardJump } from './rules.js';

// Firewall's shared filter chains for `tsrun net prune` (../prune.ts):
// CNI-FORWARD, jumped to from FORWARD, and the admin chain(s) CNI-FORWARD
// jumps to first (CNI-ADMIN unless a config named another). An admin chain
// holding the admin's own rules keeps the whole set. The per-bridge isolation
// chains of ingressPolicy "same-bridge" are left alone.

const ADMIN_JUMP = `-A ${FORWARD_CHAIN} ${adminJump('')}`;
const DEFAULT_ADMIN = 'CNI-ADMIN';

/** Firewall's shared chains as they are in `have`; undefined when CNI-FORWARD is not there. */
export function firewallShared(have: Listing): SharedChains | undefined {
  if (!have.chains.has(FORWARD_CHAIN)) return undefined;
  const admins = [...new Set(have.rules.filter((r) => r.startsWith(ADMIN_JUMP)).map((r) => r.slice(ADMIN_JUMP.length)).filter((c) => /^\S+$/.test(c)))];
  // the default admin chain even when its jump is gone: pruneShared still keeps it if anything is in it or refers to it
  if (have.chains.has(DEFAULT_ADMIN) && !admins.includes(DEFAULT_ADMIN)) admins.push(DEFAULT_ADMIN);
  return {
    owner: 'firewall',
    chains: [FORWARD_CHAIN, ...admins],
    own: [`-A FORWARD ${forwardJump}`, ...admins.map((a) => `${ADMIN_JUMP}${a}`)],
  };
}
