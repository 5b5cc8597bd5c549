import type { CniResult, Result100 } from '../../cni/result/types.js';
import { parseCidr } from '../../rtnetlink/ip.js';
import { cniError } from '../errors.js';
import { applyLines, jumpsTo, listTable, mustListTable, removeChainLines } from '../iptables.js';
import { chainName, familiesOf } from '../ipmasq.js';
import { fromV1 } from '../result.js';
import { asV1, confVersion, type Plugin, type PluginDeps, type PluginRequest } from '../skel.js';
import { loadPortmapConf, type PortmapConf } from './config.js';
import { containerChainLines, DNAT_CHAIN, sharedChainLines } from './rules.js';
import { deleteFast } from '../iptables-plan.js';
import { idsWithRules, sweep, validContainers } from '../gc.js';

// portmap: host ports DNAT'ed to the container, in the reference's chains.
// Per family it is one `iptables -S` and one `iptables-restore` (the reference
// runs an iptables process per rule). DEL needs only the network name and
// container id, so it works without prevResult, mappings or netns.

const listNat = (deps: PluginDeps, family: 4 | 6) => mustListTable(deps.iptables, family, 'nat');

const apply = (deps: PluginDeps, family: 4 | 6, lines: string[]): Promise<void> => applyLines(deps.iptables, family, 'nat', lines);

async function forward(deps: PluginDeps, c: PortmapConf, containerId: string, family: 4 | 6): Promise<void> {
  const have = await listNat(deps, family);
  const chain = chainName(c.name, containerId, 'DN-');
  await apply(deps, family, [...sharedChainLines(have, c), ...containerChainLines(have, c, family, chain, containerId)]);
}

async function unforward(deps: PluginDeps, name: string, containerId: string, family: 4 | 6): Promise<void> {
  const have = await listTable(deps.iptables, family, 'nat');
  if (have) await apply(deps, family, removeChainLines(have, chainName(name, containerId, 'DN-')));
}

/** The mappings and addresses of a DEL that has them (runtimeConfig and prevResult), else undefined. */
function knownConf(req: PluginRequest, prev: Result100 | undefined): PortmapConf | undefined {
  try {
    const c = loadPortmapConf(req.conf, prev);
    return c.mappings.length ? c : undefined;
  } catch {
    return undefined; // a config DEL cannot read: remove by chain name
  }
}

/** DEL knowing what ADD made: the entry jumps, the flush and the delete in one restore (by listing when that fails). */
async function unforwardKnown(deps: PluginDeps, c: PortmapConf, containerId: string, family: 4 | 6): Promise<void> {
  const chain = chainName(c.name, containerId, 'DN-');
  const none = { chains: new Set<string>(), rules: [] };
  const jumps = containerChainLines(none, c, family, chain, containerId).filter((l) => l.startsWith(`-A ${DNAT_CHAIN} `)).map((l) => l.replace(/^-A /, '-D '));
  await deleteFast(deps.iptables, family, 'nat', [...jumps, `-F ${chain}`, `-X ${chain}`], (p) => p.removeChain(chain));
}

/** Lets 127.0.0.1 be DNAT'ed across the interface that routes to the container (route_localnet), like the reference. */
function enableLocalnet(deps: PluginDeps, containerIp: string): void {
  const nl = deps.netlink.open();
  try {
    const route = nl.routeGet(containerIp);
    const link = route?.oif ? nl.linkByIndex(route.oif) : undefined;
    if (link) deps.sysctl(undefined, `net.ipv4.conf.${link.name}.route_localnet`, '1');
  } finally {
    nl.close();
  }
}

export const portmap: Plugin = {
  async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
    const version = confVersion(req.conf);
    if (!req.conf.prevResult) throw cniError('must be called as chained plugin');
    const prev = await asV1(req.conf.prevResult, req.conf);
    const c = loadPortmapConf(req.conf, prev);
    if (c.mappings.length > 0) {
      const families = ([4, 6] as const).filter((f) => c.container[f]);
      try {
        for (const f of families) await forward(deps, c, req.containerId, f);
        if (c.snat && c.container[4]) enableLocalnet(deps, parseCidr(c.container[4]).address);
      } catch (err) {
        for (const f of families) await unforward(deps, c.name, req.containerId, f).catch(() => {});
        throw err;
      }
    }
    return fromV1({ ...prev, dns: prev.dns ?? {} }, version); // the reference always prints dns
  },

  async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const name = String(req.conf.name ?? '');
    const prev = req.conf.prevResult ? await asV1(req.conf.prevResult, req.conf).catch(() => undefined) : undefined;
    // both families unless the cached result says which (saves an ip6tables exec)
    const families = prev?.ips?.length ? familiesOf(prev.ips.map((i) => i.address)) : ([4, 6] as const);
    const known = knownConf(req, prev);
    const errors: string[] = [];
    for (const f of families) {
      const undo = known?.container[f] ? unforwardKnown(deps, known, req.containerId, f) : unforward(deps, name, req.containerId, f);
      await undo.catch((e: Error) => errors.push(e.message));
    }
    if (errors.length) throw cniError(`could not teardown port forwarding: ${errors.join('; ')}`);
  },

  /** Spec 1.1 GC: DNAT chains of containers no longer valid, found by their entry comments. */
  async gc(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const name = String(req.conf.name ?? '');
    const stale = await idsWithRules(deps.iptables, name, 'dnat ');
    const errors = await sweep(stale, validContainers(req), (id, f) => unforward(deps, name, id, f));
    if (errors.length) throw cniError(`gc: ${errors.join('; ')}`);
  },

  async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const prev = req.conf.prevResult ? await asV1(req.conf.prevResult, req.conf) : undefined;
    const c = loadPortmapConf(req.conf, prev);
    if (c.mappings.length === 0) return;
    const chain = chainName(c.name, req.containerId, 'DN-');
    for (const f of [4, 6] as const) {
      if (!c.container[f]) continue;
      const have = await listNat(deps, f);
      if (!have.chains.has(chain) || jumpsTo(have, chain).length === 0) throw cniError(`portmap: chain ${chain} is missing or not reachable`);
    }
  },
};
