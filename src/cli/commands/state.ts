import type { Command } from '../command.js';
import { expectArgs } from '../args.js';
import { inspect, ociState } from '../../runtime/container/inspect.js';
import { writeOut } from '../../output.js';

export const command: Command = {
  args: 'ID',
  flags: [],
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    // Reading state needs no kernel calls, so koffi is never loaded here.
    writeOut(JSON.stringify(ociState(inspect(g.root, id!)), null, 2) + '\n');
    return 0;
  },
};
