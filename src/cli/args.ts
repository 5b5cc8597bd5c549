import { TsrunError } from '../errors.js';

// A small flag parser in the style runc's urfave/cli accepts: `--flag value`,
// `--flag=value`, `-f value`, boolean flags, and `--` to end flags.
// Where flags end is the caller's choice: global flags and the flags of
// commands that take a process's command line (exec, ps) end at the first
// positional argument, so `tsrun exec ID df -h /` leaves `-h` to df. Other
// commands take flags on either side of their fixed positionals, as runc does.

export interface FlagSpec {
  /** long name without dashes, e.g. "bundle" */
  name: string;
  /** one-letter alias, e.g. "b" */
  short?: string;
  /** the value's placeholder in usage ("DIR"); set when the flag takes a value */
  value?: boolean | string;
  /** may be given several times (values collected in order) */
  repeat?: boolean;
  help?: string;
}

export interface Parsed {
  flags: Map<string, string | boolean | string[]>;
  positionals: string[];
}

/** `-h`/`--help` met in a flag position: main prints the command's usage and exits 0. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
  }
}

export function parseFlags(argv: string[], specs: FlagSpec[], stopAtFirstPositional = false): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.short) byName.set(s.short, s);
  }
  const flags = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      if (stopAtFirstPositional) {
        positionals.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec && (name === 'h' || name === 'help')) throw new HelpRequested();
    if (!spec) throw new TsrunError('BAD_INPUT', `unknown flag: ${arg}`);
    let value: string | boolean;
    if (spec.value) {
      if (eq >= 0) value = body.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new TsrunError('BAD_INPUT', `flag --${spec.name} needs a value`);
        value = next;
        i++;
      }
    } else {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      if (v !== 'true' && v !== 'false') throw new TsrunError('BAD_INPUT', `flag --${spec.name} is a switch: use true or false`);
      value = v === 'true';
    }
    if (spec.repeat) {
      const prev = flags.get(spec.name);
      flags.set(spec.name, [...(Array.isArray(prev) ? prev : []), String(value)]);
    } else flags.set(spec.name, value);
  }
  return { flags, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags.get(name) === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : [];
}

/** A flag's value as a whole number, or an error naming the flag (runc: "invalid value for X"). */
export function int(p: Parsed, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new TsrunError('BAD_INPUT', `invalid value for ${name}: expected a whole number, got "${v}"`);
  return Number(v);
}

/** Exactly `n` positionals, or a usage error naming what was expected. */
export function expectArgs(p: Parsed, names: string[], usage: string): string[] {
  if (p.positionals.length !== names.length) {
    throw new TsrunError('BAD_INPUT', `expected ${names.join(' ')}, got ${p.positionals.length} argument(s)`, {
      hint: `usage: ${usage}`,
    });
  }
  return p.positionals;
}

/** One flag as usage shows it: `--bundle, -b DIR`. */
export function flagSynopsis(f: FlagSpec): string {
  const value = f.value ? ` ${typeof f.value === 'string' ? f.value : 'VALUE'}` : '';
  return `--${f.name}${f.short ? `, -${f.short}` : ''}${value}`;
}

/** The flags block of a usage text, one line per flag of the table. */
export function flagLines(flags: FlagSpec[]): string[] {
  const rows = flags.map((f) => [flagSynopsis(f), (f.help ?? '') + (f.repeat ? ' (repeatable)' : '')] as const);
  const width = Math.max(0, ...rows.map(([s]) => s.length));
  return rows.map(([s, h]) => `  ${s.padEnd(width)}  ${h}`.trimEnd());
}
