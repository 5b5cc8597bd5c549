import type { Command } from '../command.js';
import { parseFlags, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { resumeContainer } from '../../runtime/container/pause.js';

export const command: Command = {
  usage: 'tsrun resume ID',
  async run(argv, g) {
    const [id] = expectArgs(parseFlags(argv, []), ['ID'], this.usage);
    await resumeContainer(await makeContext(g), id!);
    return 0;
  },
};
