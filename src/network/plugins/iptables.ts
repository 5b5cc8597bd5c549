import { spawn } from 'node:child_process';
import { cniError } from './errors.js';

// iptables through its binary (as the reference's go-iptables does), with -w
// so concurrent plugins wait for the xtables lock instead of failing. Rules
// and chains are data; every helper is idempotent so ADD, DEL and rollback can
// run twice.

export interface IptablesOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Iptables {
  run(family: 4 | 6, args: string[]): Promise<IptablesOutcome>;
  /** iptables-restore --noflush: many changes in one exec and one commit. */
  restore(family: 4 | 6, text: string): Promise<IptablesOutcome>;
}

export class ExecIptables implements Iptables {
  run(family: 4 | 6, args: string[]): Promise<IptablesOutcome> {
    return this.exec(family === 4 ? 'iptables' : 'ip6tables', ['-w', ...args]);
  }
  restore(family: 4 | 6, text: string): Promise<IptablesOutcome> {
    return this.exec(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['-w', '--noflush'], text);
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

export async function chainExists(x: Iptables, f: 4 | 6, table: Table, chain: string): Promise<boolean> {
  return (await x.run(f, ['-t', table, '-S', chain])).code === 0;
}

export async function ensureChain(x: Iptables, f: 4 | 6, table: Table, chain: string): Promise<void> {
  if (!(await chainExists(x, f, table, chain))) await ipt(x, f, ['-t', table, '-N', chain]);
}

export async function ruleExists(x: Iptables, f: 4 | 6, table: Table, chain: string, rule: string[]): Promise<boolean> {
  return (await x.run(f, ['-t', table, '-C', chain, ...rule])).code === 0;
}

export async function appendUnique(x: Iptables, f: 4 | 6, table: Table, chain: string, rule: string[]): Promise<void> {
  if (!(await ruleExists(x, f, table, chain, rule))) await ipt(x, f, ['-t', table, '-A', chain, ...rule]);
}

export async function insertUnique(x: Iptables, f: 4 | 6, table: Table, chain: string, rule: string[]): Promise<void> {
  if (!(await ruleExists(x, f, table, chain, rule))) await ipt(x, f, ['-t', table, '-I', chain, '1', ...rule]);
}

/** Deletes every copy of a rule; a missing rule or chain is fine. */
export async function deleteRule(x: Iptables, f: 4 | 6, table: Table, chain: string, rule: string[]): Promise<void> {
  while (await ruleExists(x, f, table, chain, rule)) await ipt(x, f, ['-t', table, '-D', chain, ...rule]);
}

/** Flushes and deletes a chain; a missing one is fine. */
export async function deleteChain(x: Iptables, f: 4 | 6, table: Table, chain: string): Promise<void> {
  if (!(await chainExists(x, f, table, chain))) return;
  await ipt(x, f, ['-t', table, '-F', chain]);
  await ipt(x, f, ['-t', table, '-X', chain]);
}

/** The rules of a chain as `-S` prints them, without the -N/-P line. */
export async function listRules(x: Iptables, f: 4 | 6, table: Table, chain: string): Promise<string[]> {
  const r = await x.run(f, ['-t', table, '-S', chain]);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

/** Removes every rule of `chain` that jumps to `target` (found by listing, so no rule text is needed). */
export async function deleteJumpsTo(x: Iptables, f: 4 | 6, table: Table, chain: string, target: string): Promise<void> {
  for (const line of await listRules(x, f, table, chain)) {
    const args = splitRule(line);
    const j = args.indexOf('-j');
    if (j >= 0 && args[j + 1] === target) await x.run(f, ['-t', table, '-D', ...args.slice(1)]);
  }
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
