import type { Command } from '../command.js';
import { parseFlags, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { startContainer } from '../../runtime/container/start.js';

export const command: Command = {
  usage: 'tsrun start ID',
  async run(argv, g) {
    const [id] = expectArgs(parseFlags(argv, []), ['ID'], this.usage);
    await startContainer(await makeContext(g), id!);
    return 0;
  },
};
