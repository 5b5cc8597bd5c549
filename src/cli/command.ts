// What every subcommand file exports. Commands are thin: parse flags, call one
// library function, print.

export interface GlobalOptions {
  /** state root, default /run/tsrun */
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[], globals: GlobalOptions): Promise<number>;
}
