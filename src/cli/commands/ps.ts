import type { Command } from '../command.js';
import { str } from '../args.js';
import { containerPids, inspect } from '../../runtime/container/inspect.js';
import { runPs } from '../../runtime/container/ps.js';
import { TsrunError } from '../../errors.js';

export const command: Command = {
  args: 'ID [PS OPTIONS…]',
  flags: [{ name: 'format', short: 'f', value: 'table|json', help: 'table: the output of ps(1) for the container; json: an array of host pids' }],
  // Everything after ID goes to ps(1): `tsrun ps ID -o pid,comm`.
  flagsEndAtPositional: true,
  notes: ['PS OPTIONS are passed to ps(1) (default -ef); its header and the rows of the container\'s processes are printed.'],
  async run(p, g, usage) {
    const [id, ...psOptions] = p.positionals;
    if (!id) throw new TsrunError('BAD_INPUT', 'expected a container ID', { hint: `usage: ${usage}` });
    const format = str(p, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') throw new TsrunError('BAD_INPUT', `--format: expected table or json, got "${format}"`);
    const pids = containerPids(inspect(g.root, id));
    // Like runc, json ignores ps options: it is the pids alone.
    if (format === 'json') process.stdout.write(JSON.stringify(pids) + '\n');
    else process.stdout.write(runPs(psOptions, pids));
    return 0;
  },
};
