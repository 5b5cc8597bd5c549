import { splitRule, type Iptables, type IptablesOutcome } from './iptables.js';

// An in-memory iptables for unit tests: tables of chains of rules (args joined by NUL),
// answering -N -X -F -A -I -D -C -S the way the binary does (exit 1 when a
// chain or rule is missing), with every call logged and scripted failures.

const BUILTIN = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export class FakeIptables implements Iptables {
  readonly calls: string[] = [];
  readonly tables = new Map<string, Map<string, string[]>>();
  /** the next change (not -C/-S) whose joined args contain this text fails */
  failWhen?: string;

  private table(family: 4 | 6, name: string): Map<string, string[]> {
    const key = `${family}/${name}`;
    let t = this.tables.get(key);
    if (!t) this.tables.set(key, (t = new Map(BUILTIN.map((c) => [c, []]))));
    return t;
  }

  rules(family: 4 | 6, table: string, chain: string): string[] | undefined {
    return this.table(family, table).get(chain);
  }

  /** Every restore's input, in order. */
  readonly restores: string[] = [];

  /**
   * iptables-restore --noflush: ":CHAIN" creates or flushes, other lines are
   * commands. Each table commits at its COMMIT, as the real one does: a failing
   * line undoes its own table's section and stops, earlier sections stay.
   */
  async restore(family: 4 | 6, text: string): Promise<IptablesOutcome> {
    this.restores.push(`${family} ${text}`);
    return this.replay(family, text);
  }

  /** iptables-save: each table of the family that exists, as the binary prints it (counters zero). */
  async save(family: 4 | 6): Promise<IptablesOutcome> {
    this.calls.push(`${family} save`);
    const out: string[] = [];
    for (const [key, t] of this.tables) {
      if (!key.startsWith(`${family}/`)) continue;
      out.push(`*${key.slice(2)}`);
      for (const c of t.keys()) out.push(`:${c} ${BUILTIN.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
      for (const [c, rs] of t) out.push(...rs.map((r) => `-A ${c} ${quoted(r)}`));
      out.push('COMMIT');
    }
    return { code: 0, stdout: out.length ? `${out.join('\n')}\n` : '', stderr: '' };
  }

  private async replay(family: 4 | 6, text: string): Promise<IptablesOutcome> {
    let table = 'filter';
    let section = new Map<string, string[]>(); // the table as it was at the section's start
    for (const [n, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('*')) {
        table = line.slice(1);
        section = new Map([...this.table(family, table)].map(([c, rs]) => [c, [...rs]]));
      } else if (line === 'COMMIT') continue;
      else if (line.startsWith(':')) {
        const chain = line.slice(1).split(' ')[0]!;
        const t = this.table(family, table);
        if (t.has(chain)) t.get(chain)!.length = 0;
        else t.set(chain, []);
      } else {
        const r = await this.run(family, ['-t', table, ...splitRule(line)]);
        if (r.code !== 0) {
          this.tables.set(`${family}/${table}`, section);
          return { ...r, stderr: `${r.stderr}\nError occurred at line: ${n + 1}` }; // as iptables-restore says it
        }
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  async run(family: 4 | 6, args: string[]): Promise<IptablesOutcome> {
    const line = args.join(' ');
    this.calls.push(`${family} ${line}`);
    const ok = (stdout = ''): IptablesOutcome => ({ code: 0, stdout, stderr: '' });
    const no = (why: string): IptablesOutcome => ({ code: 1, stdout: '', stderr: why });
    let i = 0;
    let tableName = 'filter';
    if (args[0] === '-t') {
      tableName = args[1]!;
      i = 2;
    }
    if (this.failWhen && line.includes(this.failWhen) && !['-C', '-S'].includes(args[i]!)) {
      this.failWhen = undefined;
      return no('scripted failure');
    }
    const t = this.table(family, tableName);
    const op = args[i]!;
    const chain = args[i + 1]!;
    const rest = args.slice(i + (op === '-I' ? 3 : 2)).join('\0');
    const rules = t.get(chain);
    switch (op) {
      case '-N':
        if (rules) return no('Chain already exists.');
        t.set(chain, []);
        return ok();
      case '-X':
        if (!rules) return no('No chain/target/match by that name.');
        // as the kernel: a chain with rules, or one a rule jumps to, stays
        if (rules.length) return no('Directory not empty.');
        if ([...t.values()].some((rs) => rs.some((r) => r.endsWith(`\0-j\0${chain}`)))) return no('Too many links.');
        t.delete(chain);
        return ok();
      case '-F':
        if (!rules) return no('No chain/target/match by that name.');
        rules.length = 0;
        return ok();
      case '-S':
        if (chain === undefined) return ok([...t].flatMap(([c, rs]) => [BUILTIN.includes(c) ? `-P ${c} ACCEPT` : `-N ${c}`, ...rs.map((r) => `-A ${c} ${quoted(r)}`)]).join('\n') + '\n');
        if (!rules) return no('No chain/target/match by that name.');
        return ok([`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${quoted(r)}`)].join('\n') + '\n');
      case '-C':
        return rules?.includes(rest) ? ok() : no('Bad rule');
      case '-A':
      case '-I':
        if (!rules) return no('No chain/target/match by that name.');
        if (op === '-A') rules.push(rest);
        else rules.unshift(rest);
        return ok();
      case '-D': {
        const at = rules?.indexOf(rest) ?? -1;
        if (at < 0) return no('Bad rule');
        rules!.splice(at, 1);
        return ok();
      }
      default:
        return no(`fake iptables: unsupported ${op}`);
    }
  }
}

/** The rule as `iptables -S` prints it: arguments with spaces or quotes in double quotes. */
const quoted = (rule: string): string =>
  rule.split('\0').map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ');
