import { flagLines, type FlagSpec } from './args.js';
import type { Command, CommandEntry } from './command.js';

// Usage texts, generated from the same flag tables the parser uses, so a flag
// can never be accepted and undocumented (or documented and refused).

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', value: 'DIR', help: 'state directory (default /run/tsrun; $XDG_RUNTIME_DIR/tsrun for other users)' },
  { name: 'log', value: 'FILE', help: 'write errors and debug lines to this file (default: stderr)' },
  { name: 'log-format', value: 'text|json', help: 'format of the --log file' },
  { name: 'debug', help: 'write debug lines' },
  { name: 'systemd-cgroup', help: 'accepted for runc compatibility (tsrun manages cgroupfs only)' },
  { name: 'explain', value: 'text|json', help: 'print each kernel call, hook and CNI call with its reason (--explain alone = text)' },
  { name: 'help', short: 'h', help: 'print this usage' },
  { name: 'version', short: 'v', help: 'print the version' },
];

/** "tsrun kill [flags] ID [SIGNAL]" */
export function synopsis(name: string, cmd: Command): string {
  return ['tsrun', name, cmd.flags.length ? '[flags]' : '', cmd.args].filter(Boolean).join(' ');
}

export function commandUsage(entry: CommandEntry, cmd: Command): string {
  const lines = [`usage: ${synopsis(entry.name, cmd)}`, '', entry.summary];
  if (cmd.notes?.length) lines.push('', ...cmd.notes);
  if (cmd.flags.length) lines.push('', 'flags:', ...flagLines(cmd.flags));
  return lines.join('\n') + '\n';
}

export function mainUsage(commands: CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: tsrun [global flags] COMMAND [flags] [args]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'tsrun COMMAND --help prints the usage of a command.',
  ].join('\n') + '\n';
}
