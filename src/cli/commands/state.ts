import type { Command } from '../command.js';
import { parseFlags, expectArgs } from '../args.js';
import { inspect, ociState } from '../../runtime/container/inspect.js';
import { writeOut } from '../../output.js';

export const command: Command = {
  usage: 'tsrun state ID',
  async run(argv, g) {
    const [id] = expectArgs(parseFlags(argv, []), ['ID'], this.usage);
    // Reading state needs no kernel calls, so koffi is never loaded here.
    writeOut(JSON.stringify(ociState(inspect(g.root, id!)), null, 2) + '\n');
    return 0;
  },
};
