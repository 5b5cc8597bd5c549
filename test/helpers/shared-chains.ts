import { spawnSync } from 'node:child_process';

// The reference CNI plugins (and tsrun's, which match them) create shared
// top-level chains (CNI-FORWARD, CNI-HOSTPORT-DNAT, …) that no DEL ever
// removes. The suite removes the ones that were not there before it started,
// so the host's firewall is left as it was found.

const SHARED: Record<string, string[]> = {
  filter: ['CNI-FORWARD', 'CNI-ADMIN'],
  nat: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'],
};

type Snapshot = Record<string, Set<string>>;

function chainsOf(tool: string, table: string): { chains: Set<string>; rules: string[] } {
  const out = spawnSync(tool, ['-t', table, '-S'], { encoding: 'utf8' });
  if (out.status !== 0) return { chains: new Set(), rules: [] };
  const lines = out.stdout.split('\n');
  return {
    chains: new Set(lines.filter((l) => l.startsWith('-N ')).map((l) => l.slice(3).trim())),
    rules: lines.filter((l) => l.startsWith('-A ')),
  };
}

/** Splits an iptables -S rule into argv, honouring double quotes. */
function argv(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!));
}

export function snapshotSharedChains(): Snapshot {
  const snap: Snapshot = {};
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of Object.keys(SHARED)) snap[`${tool} ${table}`] = chainsOf(tool, table).chains;
  }
  return snap;
}

/** Removes shared CNI chains the suite created; returns what it could not remove (real leaks). */
export function removeNewSharedChains(before: Snapshot): string[] {
  const problems: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const [table, names] of Object.entries(SHARED)) {
      const { chains, rules } = chainsOf(tool, table);
      const created = names.filter((n) => chains.has(n) && !before[`${tool} ${table}`]?.has(n));
      if (!created.length) continue;
      // Per-container rules still inside them mean a DEL did not happen: a leak, not ours to hide.
      const inside = rules.filter((r) => created.some((c) => r.startsWith(`-A ${c} `)) && !/-j (CNI-ADMIN|MASQUERADE|MARK)\b/.test(r));
      if (inside.length) {
        problems.push(...inside.map((r) => `${tool} -t ${table}: ${r}`));
        continue;
      }
      for (const r of rules.filter((r) => created.some((c) => r.endsWith(`-j ${c}`)) && !created.some((c) => r.startsWith(`-A ${c} `)))) {
        spawnSync(tool, ['-t', table, '-D', ...argv(r).slice(1)]);
      }
      for (const c of created) spawnSync(tool, ['-t', table, '-F', c]);
      for (const c of created) spawnSync(tool, ['-t', table, '-X', c]);
    }
  }
  return problems;
}
