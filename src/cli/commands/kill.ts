import type { Command } from '../command.js';
import { bool } from '../args.js';
import { makeContext } from '../context.js';
import { killContainer } from '../../runtime/container/kill.js';
import { TsrunError } from '../../errors.js';

export const command: Command = {
  args: 'ID [SIGNAL]',
  flags: [{ name: 'all', short: 'a', help: 'send the signal to every process of the container, not only its init' }],
  notes: ['SIGNAL: a name with or without SIG (TERM, SIGKILL) or a number; default SIGTERM. 0 only checks that the container is alive.'],
  async run(p, g, usage) {
    const [id, signal] = p.positionals;
    if (!id || p.positionals.length > 2) throw new TsrunError('BAD_INPUT', 'expected ID [SIGNAL]', { hint: `usage: ${usage}` });
    killContainer(await makeContext(g), id, signal ?? 'SIGTERM', bool(p, 'all'));
    return 0;
  },
};
