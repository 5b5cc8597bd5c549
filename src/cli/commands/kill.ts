import type { Command } from '../command.js';
import { parseFlags, bool } from '../args.js';
import { makeContext } from '../context.js';
import { killContainer } from '../../runtime/container/kill.js';
import { TsrunError } from '../../errors.js';

export const command: Command = {
  usage: 'tsrun kill [--all] ID [SIGNAL]',
  async run(argv, g) {
    const p = parseFlags(argv, [{ name: 'all', short: 'a' }]);
    const [id, signal] = p.positionals;
    if (!id || p.positionals.length > 2) throw new TsrunError('BAD_INPUT', 'expected ID [SIGNAL]', { hint: `usage: ${this.usage}` });
    killContainer(await makeContext(g), id, signal ?? 'SIGTERM', bool(p, 'all'));
    return 0;
  },
};
