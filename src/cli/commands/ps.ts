import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseFlags, str, expectArgs } from '../args.js';
import { containerPids, inspect } from '../../runtime/container/inspect.js';
import { TsrunError } from '../../errors.js';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

export const command: Command = {
  usage: 'tsrun ps [--format table|json] ID',
  async run(argv, g) {
    const p = parseFlags(argv, [{ name: 'format', short: 'f', value: true }]);
    const [id] = expectArgs(p, ['ID'], this.usage);
    const format = str(p, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') throw new TsrunError('BAD_INPUT', `--format: expected table or json, got "${format}"`);
    const pids = containerPids(inspect(g.root, id!));
    if (format === 'json') process.stdout.write(JSON.stringify(pids) + '\n');
    else {
      process.stdout.write('PID     CMD\n');
      for (const pid of pids) process.stdout.write(`${String(pid).padEnd(8)}${cmdline(pid)}\n`);
    }
    return 0;
  },
};
