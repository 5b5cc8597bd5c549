import type { Iptables } from './iptables.js';
import { listTable } from './iptables.js';
import type { PluginRequest } from './skel.js';

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
