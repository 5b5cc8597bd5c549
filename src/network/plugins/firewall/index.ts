import type { CniResult, Result100 } from '../../cni/result/types.js';
import { parseCidr } from '../../rtnetlink/ip.js';
import { cniError } from '../errors.js';
import { deleteFast, planAndApply, RestorePlan } from '../iptables-plan.js';
import { listTable } from '../iptables.js';
import { fromV1 } from '../result.js';
import { asV1, confVersion, type Plugin, type PluginDeps, type PluginRequest } from '../skel.js';
import { FIREWALL_VERSIONS, loadFirewallConf } from './config.js';
import { addressRules, checkProblem, FORWARD_CHAIN, planAdd, planDel, planIsolation } from './rules.js';

// firewall (iptables backend): lets the container's addresses through the
// host's FORWARD chain, in the reference's chains and rules so the two share a
// host and each deletes the other's. Per family, ADD is one `iptables -S` and
// one iptables-restore (the reference runs two iptables processes per rule);
// DEL one restore, listing only when its rules are not all there.

/** The container addresses of prevResult by family: only families with addresses are touched. */
function byFamily(prev: Result100): Map<4 | 6, string[]> {
  const out = new Map<4 | 6, string[]>();
  for (const ip of prev.ips ?? []) {
    const f = parseCidr(ip.address).family;
    out.set(f, [...(out.get(f) ?? []), ip.address]);
  }
  return out;
}

async function prevResultOf(req: PluginRequest): Promise<Result100> {
  if (!req.conf.prevResult) throw cniError('missing prevResult from earlier plugin');
  return asV1(req.conf.prevResult, req.conf);
}

/** The bridge the container hangs off, for ingressPolicy "same-bridge": the first interface of prevResult, as in the reference. */
function bridgeOf(prev: Result100): string {
  const name = prev.interfaces?.[0]?.name;
  if (prev.interfaces === undefined || prev.interfaces.length === 0) {
    throw cniError('interface needs to be set for ingress policy "same-bridge", make sure to chain "firewall" plugin with "bridge"');
  }
  if (!name) throw cniError('got empty bridge name');
  return name;
}

export const firewall: Plugin = {
  versions: FIREWALL_VERSIONS,

  async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
    const c = loadFirewallConf(req.conf);
    const prev = await prevResultOf(req);
    const bridge = c.ingressPolicy === 'same-bridge' ? bridgeOf(prev) : undefined;
    const done: [4 | 6, string[]][] = [];
    try {
      for (const [f, addresses] of byFamily(prev)) {
        await planAndApply(deps.iptables, f, 'filter', (p) => {
          planAdd(p, c.adminChain, addresses);
          if (bridge) planIsolation(p, bridge);
        }, true);
        done.push([f, addresses]);
      }
    } catch (err) {
      // each batch is atomic: only the families already done have rules to take back
      for (const [f, addresses] of done) await planAndApply(deps.iptables, f, 'filter', (p) => planDel(p, addresses)).catch(() => {});
      throw err;
    }
    return fromV1({ ...prev, dns: prev.dns ?? {} }, confVersion(req.conf)); // the reference always prints dns
  },

  /** Removes the address rules of prevResult; without prevResult there is nothing to go by (as in the reference). */
  async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
    loadFirewallConf(req.conf);
    if (!req.conf.prevResult) return;
    const prev = await asV1(req.conf.prevResult, req.conf);
    const errors: string[] = [];
    for (const [f, addresses] of byFamily(prev)) {
      const deletions = addresses.flatMap(addressRules).map((rule) => `-D ${FORWARD_CHAIN} ${rule}`);
      await deleteFast(deps.iptables, f, 'filter', deletions, (p) => planDel(p, addresses)).catch((e: Error) => errors.push(e.message));
    }
    if (errors.length) throw cniError(`firewall: could not remove rules: ${errors.join('; ')}`);
  },

  async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const c = loadFirewallConf(req.conf);
    const prev = await prevResultOf(req);
    for (const [f, addresses] of byFamily(prev)) {
      const have = await listTable(deps.iptables, f, 'filter');
      const problem = have ? checkProblem(new RestorePlan(have), c.adminChain, addresses) : `cannot list the ${f === 4 ? 'iptables' : 'ip6tables'} filter table`;
      if (problem) throw cniError(problem);
    }
  },

  /** Spec 1.1 GC: the address rules name no container, so there is nothing to tie to an attachment. */
  async gc(req: PluginRequest): Promise<void> {
    loadFirewallConf(req.conf);
  },
};
