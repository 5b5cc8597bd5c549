import { AsyncLocalStorage } from 'node:async_hooks';
import { cniError } from './errors.js';
import { afterChainRace, emptyListing, isNewChain, NOTHING_DONE, parseSave, refusedLine, type Iptables, type IptablesOutcome, type Listing, type Table } from './iptables.js';
import type { RestorePlan } from './iptables-plan.js';

// One iptables-restore per family for a whole chain instead of one per
// plugin. Each exec costs a few ms, and every nf_tables commit that deletes
// makes the closing process wait for an RCU grace period (≈10–15 ms here);
// one process pays that once. The CNI client opens a batch around a chain's
// ADD or DEL (InProcessPluginExec.batch); the plugins' iptables helpers
// (applyLines, the listings, deleteFast) look for it, so a plugin is written
// the same with or without one.
// - ADD: restore lines are held back; a later listing of the same table sees
//   them as if applied (later plugins plan on what the earlier ones made); at
//   the end all go in one restore. When the chain fails, they are dropped
//   (nothing of them was applied) and the client's rollback runs unbatched.
//   The tables are read once, by one iptables-save per family, when the first
//   plugin lists one: nothing is applied before the end, so what the kernel
//   has can change under the chain only by another process, as it could
//   between two -S listings.
// - DEL: the fast-path deletions (what the plugin knows it made) are held
//   back and go in one restore at the end; if that fails, each plugin's
//   deletion runs alone, with its listing fallback, as it would unbatched.

type Key = `${4 | 6}/${Table}`;

interface Deletion {
  x: Iptables;
  family: 4 | 6;
  table: Table;
  lines: string[];
  plan: (p: RestorePlan) => void;
  /** the plugin that made the rules */
  owner: string;
}

export class IptablesBatch {
  /** ADD: held-back restore lines per Iptables, family and table, in the order given, each with the plugin it came from. */
  private readonly pending = new Map<Iptables, Map<Key, { line: string; owner: string }[]>>();
  /** The plugin running now (set by the in-process exec), named when its lines are refused. */
  owner = '';
  /** DEL: held-back fast-path deletions, in the order given. */
  readonly deletions: Deletion[] = [];
  /** DEL: deletions being applied already (startDeletions), with their errors. */
  private readonly started: Promise<string[]>[] = [];

  /** `alone`: one deletion on its own, with its listing fallback (DEL's fallback when a batch is refused). */
  constructor(
    readonly mode: 'add' | 'del',
    private readonly alone: (d: Deletion) => Promise<void> = async () => {},
  ) {}

  /** The Iptables that applies a merged restore, by base: the first plugin's (so --explain shows one restore, as run). */
  private readonly executors = new Map<Iptables, Iptables>();

  /** Plugins' Iptables merge by what they wrap: each plugin has its own --explain wrapper over one binary. */
  private keyOf(x: Iptables): Iptables {
    const base = x.base ?? x;
    if (!this.executors.has(base)) this.executors.set(base, x);
    return base;
  }

  hold(x: Iptables, family: 4 | 6, table: Table, lines: string[]): void {
    const key = this.keyOf(x);
    const byKey = this.pending.get(key) ?? new Map<Key, { line: string; owner: string }[]>();
    this.pending.set(key, byKey);
    byKey.set(`${family}/${table}`, [...(byKey.get(`${family}/${table}`) ?? []), ...lines.map((line) => ({ line, owner: this.owner }))]);
  }

  /** ADD: each family's iptables-save, by the Iptables it was read through, read at most once. */
  private readonly saved = new Map<Iptables, Map<4 | 6, Promise<IptablesOutcome>>>();

  /**
   * ADD: a table as the kernel has it (from the chain's one iptables-save of
   * the family) with the held-back lines of that table applied. When the
   * save fails: undefined, or with `required` the error a failed -S gives.
   */
  async listing(x: Iptables, family: 4 | 6, table: Table, required: boolean): Promise<Listing | undefined> {
    const key = this.keyOf(x);
    const byFamily = this.saved.get(key) ?? new Map<4 | 6, Promise<IptablesOutcome>>();
    this.saved.set(key, byFamily);
    let save = byFamily.get(family);
    if (!save) byFamily.set(family, (save = x.save(family)));
    const r = await save;
    if (r.code !== 0) {
      if (!required) return undefined;
      throw cniError(`running [${family === 4 ? 'iptables' : 'ip6tables'}-save]: exit status ${r.code}: ${r.stderr.trim()}`);
    }
    const have = parseSave(r.stdout).get(table) ?? emptyListing();
    const held = this.pending.get(key)?.get(`${family}/${table}`);
    return held ? applyToListing(have, held.map((h) => h.line)) : have;
  }

  /**
   * ADD's end: the held-back lines, one restore per Iptables and family (a
   * section per table). A refused line names its plugin. A restore refused
   * because another process created a shared chain since the save is made
   * again for the tables as they are now (afterChainRace), as long as that
   * is why.
   */
  async flushLines(): Promise<void> {
    for (const [x, byKey] of this.pending) {
      const run = this.executors.get(x) ?? x;
      for (const family of [4, 6] as const) {
        let sections: Section[] = [...byKey].filter(([key, held]) => key.startsWith(`${family}/`) && held.length > 0).map(([key, held]) => ({ table: key.slice(2) as Table, held }));
        if (sections.length === 0) continue;
        let r = await run.restore(family, restoreText(sections));
        // each refusal for a raced chain drops at least one -N line (or a committed section), so this ends
        for (let again; r.code !== 0 && (again = await afterRace(run, family, sections, r.stderr)); ) {
          sections = again;
          r = sections.length ? await run.restore(family, restoreText(sections)) : NOTHING_DONE;
        }
        if (r.code !== 0) {
          // by line number of the restore input, from 1: the "*table" and COMMIT lines count as their section's first and last plugin
          const owners = sections.flatMap(({ held }) => [held[0]!.owner, ...held.map((h) => h.owner), held.at(-1)!.owner]);
          const at = refusedLine(r.stderr);
          const who = owners[at - 1] ?? [...new Set(owners)].join(', ');
          throw cniError(`${who ? `${who}: ` : ''}${family === 4 ? 'iptables' : 'ip6tables'}-restore failed: ${r.stderr.trim()}`);
        }
      }
    }
    this.pending.clear();
  }

  /**
   * DEL: starts applying the deletions held back so far, in the background
   * (an iptables-restore child), while the caller goes on with slow kernel
   * work of its own (a veth's removal waits for the kernel too). Later ones
   * wait for the end.
   */
  startDeletions(): void {
    if (this.mode !== 'del' || this.deletions.length === 0) return;
    const ds = this.deletions.splice(0);
    const run = outsideBatch(() => this.apply(ds));
    run.catch(() => {}); // awaited in flushDeletions
    this.started.push(run);
  }

  /**
   * DEL: applies what is held back and waits for all that was started, before
   * the caller gives an address back to IPAM. A rule naming the address
   * (firewall's, portmap's) must be gone before another container can get the
   * address, or its late deletion would remove that container's identical
   * rule. Errors wait for the end, as the others' do.
   */
  async settleDeletions(): Promise<void> {
    this.startDeletions();
    const errors = (await Promise.all(this.started.splice(0))).flat();
    if (errors.length) this.started.push(Promise.resolve(errors));
  }

  /** DEL's end: what startDeletions began, and the rest. Returns the errors. */
  async flushDeletions(): Promise<string[]> {
    const rest = this.deletions.splice(0);
    const errors = (await Promise.all(this.started.splice(0))).flat();
    return [...errors, ...(await this.apply(rest))];
  }

  /**
   * Every deletion of a family in one restore; when that fails (something was
   * gone already), nothing of it happened in the failing table, and each
   * deletion runs on its own with its listing fallback.
   */
  private async apply(deletions: Deletion[]): Promise<string[]> {
    const errors: string[] = [];
    const groups = new Map<Iptables, Map<4 | 6, Deletion[]>>();
    for (const d of deletions) {
      const key = this.keyOf(d.x);
      const byFamily = groups.get(key) ?? new Map<4 | 6, Deletion[]>();
      groups.set(key, byFamily);
      byFamily.set(d.family, [...(byFamily.get(d.family) ?? []), d]);
    }
    for (const [x, byFamily] of groups) {
      for (const [family, ds] of byFamily) {
        const tables = [...new Set(ds.map((d) => d.table))];
        const text = tables.map((t) => `*${t}\n${ds.filter((d) => d.table === t).flatMap((d) => d.lines).join('\n')}\nCOMMIT\n`).join('');
        const r = await (this.executors.get(x) ?? x).restore(family, text).catch(() => undefined);
        if (r?.code === 0) continue;
        for (const d of ds) await this.alone(d).catch((e: Error) => errors.push(d.owner ? `${d.owner}: ${e.message}` : e.message));
      }
    }
    return errors;
  }
}

/** One table's held-back lines in a flush. */
interface Section {
  table: Table;
  held: { line: string; owner: string }[];
}

/** One restore's input: a section per table. */
const restoreText = (sections: Section[]): string => `${sections.flatMap(({ table, held }) => [`*${table}`, ...held.map((h) => h.line), 'COMMIT']).join('\n')}\n`;

/**
 * After a refused flush: what is left to apply when the refused line is a -N
 * of a chain created meanwhile (afterChainRace), else undefined. iptables-restore
 * commits each table at its COMMIT, so the sections before the refused one are
 * in the kernel already and are not sent again; the refused one and those
 * after it are made again for the tables as they are now.
 */
async function afterRace(x: Iptables, family: 4 | 6, sections: Section[], stderr: string): Promise<Section[] | undefined> {
  const at = refusedLine(stderr);
  let refused = -1;
  for (let i = 0, end = 0; i < sections.length && refused < 0; i++) {
    end += sections[i]!.held.length + 2; // "*table", the lines, COMMIT
    if (at <= end) refused = i;
  }
  if (!(at >= 1) || refused < 0) return undefined;
  const rest = sections.slice(refused);
  if (!rest[0]!.held.some((h) => isNewChain(h.line))) return undefined;
  const now = await x.save(family);
  if (now.code !== 0) return undefined;
  const tables = parseSave(now.stdout);
  const again = rest.map(({ table, held }) => ({ table, held, lines: afterChainRace(held.map((h) => h.line), tables.get(table) ?? emptyListing()) }));
  if (!again[0]!.lines) return undefined; // the refused section's chains were not raced: another cause
  return again.map(({ table, held, lines }) => ({ table, held: lines ? held.filter((h) => lines.includes(h.line)) : held })).filter((s) => s.held.length > 0);
}

const scope = new AsyncLocalStorage<IptablesBatch>();

/** The batch the current chain opened, if any. */
export const currentBatch = (): IptablesBatch | undefined => scope.getStore();

/** Runs `fn` with a batch open; the caller flushes it (or drops it) after. */
export function inBatch<T>(batch: IptablesBatch, fn: () => Promise<T>): Promise<T> {
  return scope.run(batch, fn);
}

/** Runs `fn` with no batch open (a flush's own fallbacks apply at once). */
export function outsideBatch<T>(fn: () => Promise<T>): Promise<T> {
  return scope.exit(fn);
}

/**
 * `listing` with restore `lines` applied, for the forms tsrun writes:
 * `:CHAIN - [0:0]` (create, or flush an existing chain), `-N`, `-A`,
 * `-I CHAIN 1`, `-D`, `-F`, `-X`.
 */
export function applyToListing(listing: Listing, lines: string[]): Listing {
  const chains = new Set(listing.chains);
  let rules = [...listing.rules];
  const inChain = (chain: string) => (r: string) => r.startsWith(`-A ${chain} `);
  for (const line of lines) {
    const [op, chain = '', ...rest] = line.split(' ');
    const rule = `-A ${chain} ${rest.join(' ')}`;
    if (op!.startsWith(':')) {
      const name = op!.slice(1);
      chains.add(name);
      rules = rules.filter((r) => !inChain(name)(r));
    } else if (op === '-N') {
      chains.add(chain);
    } else if (op === '-A') {
      rules.push(rule);
    } else if (op === '-I') {
      const at = rules.findIndex(inChain(chain));
      rules.splice(at < 0 ? rules.length : at, 0, `-A ${chain} ${rest.slice(1).join(' ')}`);
    } else if (op === '-D') {
      const at = rules.indexOf(rule);
      if (at >= 0) rules.splice(at, 1);
    } else if (op === '-F') {
      rules = rules.filter((r) => !inChain(chain)(r));
    } else if (op === '-X') {
      chains.delete(chain);
    }
  }
  return { chains, rules };
}
