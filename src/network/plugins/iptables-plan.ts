import { currentBatch } from './iptables-batch.js';
import { applyLines, listTable, mustListTable, type Iptables, type Listing, type Table } from './iptables.js';

// The reference's rule-by-rule helpers (EnsureChain, InsertUnique,
// AppendUnique, Delete-if-present) turned into iptables-restore lines: each
// asks the table's listing (taken once) instead of running `iptables -C`, and
// records what it adds so a later step in the same batch sees it. Rules are
// written exactly as `iptables -S` prints them (matches first, then -j), so a
// rule the reference made is recognised and never doubled.

export class RestorePlan {
  readonly lines: string[] = [];
  private readonly chains: Set<string>;
  private readonly rules: string[];

  constructor(have: Listing) {
    this.chains = new Set(have.chains);
    this.rules = [...have.rules];
  }

  has(chain: string, rule: string): boolean {
    return this.rules.includes(`-A ${chain} ${rule}`);
  }

  hasChain(chain: string): boolean {
    return this.chains.has(chain);
  }

  /** Creates the shared chain when missing, with -N (see afterChainRace in iptables.ts: never a ":" line, which flushes). */
  ensureChain(chain: string): this {
    if (!this.chains.has(chain)) {
      this.lines.push(`-N ${chain}`);
      this.chains.add(chain);
    }
    return this;
  }

  /** Inserts the rule at the top of the chain unless it is there already (anywhere). */
  insertUnique(chain: string, rule: string): this {
    if (this.has(chain, rule)) return this;
    this.lines.push(`-I ${chain} 1 ${rule}`);
    const first = this.rules.findIndex((l) => l.startsWith(`-A ${chain} `));
    this.rules.splice(first < 0 ? this.rules.length : first, 0, `-A ${chain} ${rule}`);
    return this;
  }

  /** Appends the rule unless it is there already. */
  appendUnique(chain: string, rule: string): this {
    if (this.has(chain, rule)) return this;
    this.lines.push(`-A ${chain} ${rule}`);
    this.rules.push(`-A ${chain} ${rule}`);
    return this;
  }

  /** Removes every jump to the chain, then the chain, as far as they exist. */
  removeChain(chain: string): this {
    for (const l of this.rules.filter((r) => r.endsWith(` -j ${chain}`))) {
      this.lines.push(l.replace(/^-A /, '-D '));
      this.rules.splice(this.rules.indexOf(l), 1);
    }
    if (this.chains.has(chain)) {
      this.lines.push(`-F ${chain}`, `-X ${chain}`);
      this.chains.delete(chain);
      for (let i = this.rules.length - 1; i >= 0; i--) if (this.rules[i]!.startsWith(`-A ${chain} `)) this.rules.splice(i, 1);
    }
    return this;
  }

  /** Deletes one copy of the rule when present (a -D of a missing rule would fail the whole batch). */
  deleteIfPresent(chain: string, rule: string): this {
    const at = this.rules.indexOf(`-A ${chain} ${rule}`);
    if (at < 0) return this;
    this.lines.push(`-D ${chain} ${rule}`);
    this.rules.splice(at, 1);
    return this;
  }
}

/**
 * Lists the table, builds the batch with `plan`, and applies it in one
 * iptables-restore (atomic: all or nothing). Two execs whatever the number
 * of rules. When the listing fails: an error if `required` (ADD), else
 * false (DEL: this family has no such table or binary, so nothing to remove).
 */
export async function planAndApply(x: Iptables, family: 4 | 6, table: Table, plan: (p: RestorePlan) => void, required = false): Promise<boolean> {
  const have = required ? await mustListTable(x, family, table) : await listTable(x, family, table);
  if (!have) return false;
  const p = new RestorePlan(have);
  plan(p);
  await applyLines(x, family, table, p.lines);
  return true;
}

/**
 * DEL's fast path: when the plugin knows exactly what it made, the deletions
 * go in one restore without listing first. Deleting is what costs here (each
 * nf_tables commit with a deletion waits for the kernel, ≈15 ms measured), so
 * one commit per plugin is the floor and the listing is pure overhead. If the
 * batch fails (something was gone already, or never made), nothing happened
 * (restore is atomic), and the slow path lists and deletes what is there.
 * In a chain DEL's batch the deletions wait for the chain's end (iptables-batch.ts).
 */
export async function deleteFast(x: Iptables, family: 4 | 6, table: Table, deletions: string[], plan: (p: RestorePlan) => void): Promise<void> {
  const batch = currentBatch();
  if (batch?.mode === 'del' && deletions.length > 0) {
    batch.deletions.push({ x, family, table, lines: deletions, plan, owner: batch.owner });
    return;
  }
  if (deletions.length > 0) {
    const r = await x.restore(family, `*${table}\n${deletions.join('\n')}\nCOMMIT\n`).catch(() => undefined);
    if (r?.code === 0) return;
  }
  await planAndApply(x, family, table, plan);
}
