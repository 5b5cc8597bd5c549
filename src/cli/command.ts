// What every subcommand file exports. Commands are thin: parse flags, call one
// library function, print.

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
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[], globals: GlobalOptions): Promise<number>;
}

/** An entry of the command table; the module is imported only when used (start-up time). */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
