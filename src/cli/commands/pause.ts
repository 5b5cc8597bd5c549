import type { Command } from '../command.js';
import { expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { pauseContainer } from '../../runtime/container/pause.js';

export const command: Command = {
  args: 'ID',
  flags: [],
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    await pauseContainer(await makeContext(g), id!);
    return 0;
  },
};
