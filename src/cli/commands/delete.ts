import type { Command } from '../command.js';
import { parseFlags, bool, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { deleteContainer } from '../../runtime/container/delete.js';
import { teardownNetworkOf } from '../container-network.js';

export const command: Command = {
  usage: 'tsrun delete [--force] ID',
  async run(argv, g) {
    const p = parseFlags(argv, [{ name: 'force', short: 'f' }]);
    const [id] = expectArgs(p, ['ID'], this.usage);
    const ctx = await makeContext(g);
    await deleteContainer(ctx, id!, bool(p, 'force'), teardownNetworkOf(ctx, id!));
    return 0;
  },
};
