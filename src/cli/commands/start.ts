import type { Command } from '../command.js';
import { parseFlags, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { startContainer } from '../../runtime/container/start.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'start the process of a created container',
  usage: 'tsrun start ID',
  async run(argv, g) {
    const [id] = expectArgs(parseFlags(argv, []), ['ID'], this.usage);
    await startContainer(await makeContext(g), id!);
    return 0;
  },
};
