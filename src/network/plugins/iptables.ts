import { spawn } from 'node:child_process';
import { cniError } from './errors.js';
import { currentBatch } from './iptables-batch.js';

// iptables through its binary (as the reference's go-iptables does), with -w
// so concurrent plugins wait for the xtables lock instead of failing. Changes
// are read from one `-S` listing and written in one iptables-restore, which is
// atomic and costs two execs where a rule-by-rule -C/-A costs two per rule.
// Every helper is idempotent so ADD, DEL and rollback can run twice.

export interface IptablesOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Iptables {
  run(family: 4 | 6, args: string[]): Promise<IptablesOutcome>;
  /** iptables-restore --noflush: many changes in one exec and one commit. */
  restore(family: 4 | 6, text: string): Promise<IptablesOutcome>;
  /** iptables-save: every table of the family in one exec (what a chain's plugins list, read once). */
  save(family: 4 | 6): Promise<IptablesOutcome>;
  /** The Iptables a wrapper (--explain's) stands in front of: a chain's batch merges by it. */
  readonly base?: Iptables;
}

export class ExecIptables implements Iptables {
  run(family: 4 | 6, args: string[]): Promise<IptablesOutcome> {
    return this.exec(family === 4 ? 'iptables' : 'ip6tables', ['-w', ...args]);
  }
  restore(family: 4 | 6, text: string): Promise<IptablesOutcome> {
    return this.exec(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['-w', '--noflush'], text);
  }
  save(family: 4 | 6): Promise<IptablesOutcome> {
    // no -w: iptables-save takes no lock (a legacy table is read in one call, nft in one transaction)
    return this.exec(family === 4 ? 'iptables-save' : 'ip6tables-save', []);
  }
  private exec(bin: string, args: string[], input?: string): Promise<IptablesOutcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      if (input !== undefined) child.stdin!.end(input);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(cniError(`exec ${bin}: ${e.message}`)));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    });
  }
}

export type Table = 'nat' | 'filter';

export async function ipt(x: Iptables, family: 4 | 6, args: string[]): Promise<string> {
  const r = await x.run(family, args);
  if (r.code !== 0) throw cniError(`running [${family === 4 ? 'iptables' : 'ip6tables'} ${args.join(' ')}]: exit status ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Splits an `iptables -S` line into arguments, honouring double quotes. */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** One argument as iptables-save writes it: quoted when it has spaces or quotes. */
export const quoteArg = (a: string): string => (/[\s"\\]/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a);

/** What `iptables -t <table> -S` says: chains and rule lines. */
export interface Listing {
  chains: Set<string>;
  rules: string[];
}

export function parseListing(text: string): Listing {
  const lines = text.split('\n');
  return {
    chains: new Set(lines.filter((l) => l.startsWith('-N ')).map((l) => l.slice(3).trim())),
    rules: lines.filter((l) => l.startsWith('-A ')),
  };
}

/**
 * The tables in `iptables-save` output, as parseListing reads `-S`: a user
 * chain is ":NAME - [packets:bytes]" there and "-N NAME" in -S; rule lines
 * are the same. A table the kernel has not made yet is absent: it has no
 * chains or rules of its own.
 */
export function parseSave(text: string): Map<string, Listing> {
  const tables = new Map<string, Listing>();
  let cur: Listing | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1).trim(), (cur = { chains: new Set(), rules: [] }));
    else if (!cur) continue;
    else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (policy === '-') cur.chains.add(name!);
    } else if (line.startsWith('-A ')) cur.rules.push(line);
  }
  return tables;
}

/** The table's listing, or undefined when this family has no such table or binary. Lines a chain batch holds back count as applied. */
export async function listTable(x: Iptables, f: 4 | 6, table: Table): Promise<Listing | undefined> {
  const batch = currentBatch();
  if (batch?.mode === 'add') return batch.listing(x, f, table, false);
  const r = await x.run(f, ['-t', table, '-S']);
  return r.code === 0 ? parseListing(r.stdout) : undefined;
}

/** The same, failing when the table cannot be listed (ADD needs it). */
export async function mustListTable(x: Iptables, f: 4 | 6, table: Table): Promise<Listing> {
  const batch = currentBatch();
  if (batch?.mode === 'add') return (await batch.listing(x, f, table, true))!;
  return parseListing(await ipt(x, f, ['-t', table, '-S']));
}

/** Rules anywhere in the table that jump to `chain`. */
export const jumpsTo = (have: Listing, chain: string): string[] => have.rules.filter((l) => l.endsWith(` -j ${chain}`));

/**
 * Applies restore lines to one table in one exec (atomic: all or nothing); in
 * a chain ADD's batch, at the chain's end. A restore refused because another
 * process created a shared chain meanwhile is made again for the table as it
 * is now (afterChainRace), as long as that is why.
 */
export async function applyLines(x: Iptables, f: 4 | 6, table: Table, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const batch = currentBatch();
  if (batch?.mode === 'add') return batch.hold(x, f, table, lines);
  const restore = (ls: string[]) => (ls.length ? x.restore(f, `*${table}\n${ls.join('\n')}\nCOMMIT\n`) : Promise.resolve(NOTHING_DONE));
  let todo = lines;
  let r = await restore(todo);
  // each refusal for a raced chain drops at least one -N line, so this ends
  while (r.code !== 0 && todo.some(isNewChain)) {
    const now = await listTable(x, f, table);
    const again = now && afterChainRace(todo, now);
    if (!again) break;
    r = await restore((todo = again));
  }
  if (r.code !== 0) throw cniError(`${f === 4 ? 'iptables' : 'ip6tables'}-restore failed: ${r.stderr.trim()}`);
}

export const isNewChain = (line: string): boolean => line.startsWith('-N ');

/** The input line iptables-restore names when it refuses one ("line 3 failed", "Error occurred at line: 3"); NaN when it names none. */
export const refusedLine = (stderr: string): number => Number(/line:? (\d+)/.exec(stderr)?.[1]);

/** A table with no chains or rules of its own (one the kernel has not made yet). */
export const emptyListing = (): Listing => ({ chains: new Set<string>(), rules: [] });

/** What a restore with nothing to do "returns". */
export const NOTHING_DONE: IptablesOutcome = { code: 0, stdout: '', stderr: '' };

/**
 * Shared chains (portmap's, firewall's) are created with `-N`, not with a ":"
 * line: the tables were read before the restore, and ":" on a chain another
 * process created since would flush it, silently dropping that process's
 * rules, where -N fails the whole restore instead. After such a failure these
 * are the lines again for the table as it is now (`now`): no -N for a chain
 * that exists, and no rule added to or jumping to such a chain that is there
 * already (a shared chain's rules are all added "unique"). Undefined when no
 * chain of a -N line exists now (the failure had another cause).
 */
export function afterChainRace(lines: string[], now: Listing): string[] | undefined {
  const raced = new Set(lines.filter(isNewChain).map((l) => l.slice(3).trim()).filter((c) => now.chains.has(c)));
  if (raced.size === 0) return undefined;
  return lines.filter((line) => {
    if (isNewChain(line)) return !raced.has(line.slice(3).trim());
    const [op, chain = '', ...rest] = line.split(' ');
    if (op !== '-A' && op !== '-I') return true;
    if (op === '-I' && /^\d+$/.test(rest[0] ?? '')) rest.shift();
    const rule = `-A ${chain} ${rest.join(' ')}`;
    const target = / -j (\S+)$/.exec(rule)?.[1] ?? '';
    return !((raced.has(chain) || raced.has(target)) && now.rules.includes(rule));
  });
}

/** The restore lines that remove a chain and every jump to it, as far as they exist. */
export function removeChainLines(have: Listing, chain: string): string[] {
  const lines = jumpsTo(have, chain).map((l) => l.replace(/^-A /, '-D '));
  if (have.chains.has(chain)) lines.push(`-F ${chain}`, `-X ${chain}`);
  return lines;
}

export const ruleLine = (op: string, chain: string, args: string[]): string => `${op} ${chain} ${args.map(quoteArg).join(' ')}`;
