import type { Command } from '../command.js';
import { parseFlags, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { pauseContainer } from '../../runtime/container/pause.js';

export const command: Command = {
  usage: 'tsrun pause ID',
  async run(argv, g) {
    const [id] = expectArgs(parseFlags(argv, []), ['ID'], this.usage);
    await pauseContainer(await makeContext(g), id!);
    return 0;
  },
};
