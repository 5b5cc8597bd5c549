import type { Iptables } from './iptables.js';
import { listTable } from './iptables.js';
import { asV1, type PluginDeps, type PluginRequest } from './skel.js';
import { chainName, comment, teardownIpMasq, teardownIpMasqKnown } from './ipmasq.js';
import { cniError } from './errors.js';

// Spec 1.1 GC helpers: which containers are still valid, and which of a
// network's containers still have rules (found by the reference's comments,
// `name: "<net>" id: "<cid>"`, which survive when the netns and cache do not).

export function validContainers(req: PluginRequest): Set<string> {
  const valid = (req.conf['cni.dev/valid-attachments'] as { containerID?: string }[] | undefined) ?? [];
  return new Set(valid.map((a) => a.containerID ?? ''));
}

/** Container ids named in `table` rule comments of this network, per family. */
export async function idsWithRules(x: Iptables, network: string, prefix: string): Promise<Map<4 | 6, Set<string>>> {
  const out = new Map<4 | 6, Set<string>>();
  const re = new RegExp(`--comment "${prefix}name: \\\\"(.*?)\\\\" id: \\\\"(.*?)\\\\""`);
  for (const f of [4, 6] as const) {
    const have = await listTable(x, f, 'nat');
    const ids = new Set<string>();
    for (const line of have?.rules ?? []) {
      const m = re.exec(line);
      if (m && m[1] === network) ids.add(m[2]!);
    }
    out.set(f, ids);
  }
  return out;
}

/** Runs `drop(id, family)` for every id with rules that is not valid; errors are collected, not fatal midway. */
export async function sweep(byFamily: Map<4 | 6, Set<string>>, valid: Set<string>, drop: (id: string, f: 4 | 6) => Promise<void>): Promise<string[]> {
  const errors: string[] = [];
  for (const [f, ids] of byFamily) {
    for (const id of ids) {
      if (valid.has(id)) continue;
      await drop(id, f).catch((e: Error) => errors.push(e.message));
    }
  }
  return errors;
}

/** Spec 1.1 GC of a plugin with IPAM and ipMasq: IPAM drops stale allocations; stale masquerade chains go by their comments. */
export async function gcIpamAndMasq(req: PluginRequest, deps: PluginDeps, c: { name: string; ipMasq: boolean; ipamType?: string }): Promise<void> {
  if (c.ipamType) await deps.ipam(c.ipamType, req);
  if (!c.ipMasq) return;
  const stale = await idsWithRules(deps.iptables, c.name, '');
  const errors = await sweep(stale, validContainers(req), (id, f) => teardownIpMasq(deps.iptables, chainName(c.name, id), [f]));
  if (errors.length) throw cniError(`gc: ${errors.join('; ')}`);
}

/** The container's addresses in DEL's prevResult (none without one, or when it cannot be read). */
export async function cachedAddresses(req: PluginRequest): Promise<string[]> {
  const prev = req.conf.prevResult ? await asV1(req.conf.prevResult, req.conf).catch(() => undefined) : undefined;
  return (prev?.ips ?? []).map((i) => i.address);
}

/** DEL's masquerade teardown, by chain name: for the families of the addresses known, or both when none are. */
export async function teardownMasqOnDel(req: PluginRequest, x: Iptables, network: string, addrs: string[]): Promise<void> {
  const prev = req.conf.prevResult ? await asV1(req.conf.prevResult, req.conf) : undefined;
  const known = [...addrs, ...(prev?.ips ?? []).map((i) => i.address)];
  const chain = chainName(network, req.containerId);
  if (known.length) await teardownIpMasqKnown(x, known, chain, comment(network, req.containerId));
  else await teardownIpMasq(x, chain);
}
