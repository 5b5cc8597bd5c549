import type { FlagSpec, Parsed } from './args.js';

// What every subcommand file exports. Commands are thin: main parses the flags
// with the command's own table (the same table its usage is printed from), the
// command calls one library function and prints.

export interface GlobalOptions {
  /** state root, default /run/tsrun */
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  /** --explain[=json]: print every kernel call, hook and CNI call with its reason */
  explain?: 'text' | 'json';
}

export interface Command {
  /** the positional arguments as usage shows them: "ID [SIGNAL]" */
  args: string;
  flags: FlagSpec[];
  /** flags end at the first positional: what follows is a command line of its own (exec, ps) */
  flagsEndAtPositional?: boolean;
  /** the command parses its arguments itself (subcommands); `flags` still document them */
  raw?: boolean;
  /** exit code when tsrun itself fails (exec: 255, so it differs from the process's own codes) */
  failureCode?: number;
  /** more usage lines: subcommands, notes */
  notes?: string[];
  /** Returns the process exit code. `usage` is the one-line synopsis, for error hints. */
  run(p: Parsed, globals: GlobalOptions, usage: string, argv: string[]): Promise<number>;
}

/** An entry of the command table; the module is imported only when used (start-up time). */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
