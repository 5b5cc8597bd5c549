import { parseCidr } from '../../rtnetlink/ip.js';
import type { RestorePlan } from '../iptables-plan.js';

// The reference firewall's filter-table layout, as iptables -S prints it:
//   FORWARD     → CNI-FORWARD (inserted first)
//   CNI-FORWARD → CNI-ADMIN (first: the admin's overrides win), then per
//                 container address: replies to it, and everything from it.
// With ingressPolicy "same-bridge", two isolation chains (per bridge, shared,
// never removed, as in the reference) drop traffic entering one bridge from
// another, jumped to from the top of FORWARD.

export const FORWARD_CHAIN = 'CNI-FORWARD';
const STAGE1 = 'CNI-ISOLATION-STAGE-1';
const STAGE2 = 'CNI-ISOLATION-STAGE-2';

export const forwardJump = `-m comment --comment "CNI firewall plugin rules" -j ${FORWARD_CHAIN}`;
export const adminJump = (admin: string): string => `-m comment --comment "CNI firewall plugin admin overrides" -j ${admin}`;

/** The two rules of one container address (host-length prefix, as the reference writes it). */
export function addressRules(address: string): string[] {
  const a = parseCidr(address);
  const host = `${a.address}/${a.family === 4 ? 32 : 128}`;
  return [`-d ${host} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-s ${host} -j ACCEPT`];
}

/** ADD for one family: the chains and jumps as far as missing, then the address rules (in the reference's order). */
export function planAdd(p: RestorePlan, admin: string, addresses: string[]): void {
  p.ensureChain(FORWARD_CHAIN).ensureChain(admin);
  p.insertUnique('FORWARD', forwardJump);
  p.insertUnique(FORWARD_CHAIN, adminJump(admin));
  for (const rule of addresses.flatMap(addressRules)) p.appendUnique(FORWARD_CHAIN, rule);
}

/** DEL for one family: the address rules only; the chains stay, shared with other containers (as in the reference). */
export function planDel(p: RestorePlan, addresses: string[]): void {
  for (const rule of addresses.flatMap(addressRules)) p.deleteIfPresent(FORWARD_CHAIN, rule);
}

const isolationComment = '-m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)"';

/** ingressPolicy "same-bridge": the isolation chains for `bridge`, as far as missing. */
export function planIsolation(p: RestorePlan, bridge: string): void {
  p.ensureChain(STAGE1).ensureChain(STAGE2);
  p.insertUnique('FORWARD', `${isolationComment} -j ${STAGE1}`);
  p.insertUnique(STAGE1, `-i ${bridge} ! -o ${bridge} ${isolationComment} -j ${STAGE2}`);
  p.appendUnique(STAGE1, `${isolationComment} -j RETURN`);
  p.insertUnique(STAGE2, `-o ${bridge} ${isolationComment} -j DROP`);
  p.appendUnique(STAGE2, `${isolationComment} -j RETURN`);
}

/** What CHECK wants, in the reference's words for the first thing missing. */
export function checkProblem(p: RestorePlan, admin: string, addresses: string[]): string | undefined {
  const goList = (rule: string): string => `[${rule.replace(/"/g, '')}]`; // Go prints a []string as [a b c]
  if (!p.has('FORWARD', forwardJump)) return `expected FORWARD rule ${goList(forwardJump)} not found`;
  if (!p.has(FORWARD_CHAIN, adminJump(admin))) return `expected ${FORWARD_CHAIN} rule ${goList(adminJump(admin))} not found`;
  for (const rule of addresses.flatMap(addressRules)) if (!p.has(FORWARD_CHAIN, rule)) return `expected rule ${goList(rule)} not found`;
  return undefined;
}
