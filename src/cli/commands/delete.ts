import type { Command } from '../command.js';
import { bool, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { deleteContainer } from '../../runtime/container/delete.js';
import { teardownNetworkOf } from '../container-network.js';

export const command: Command = {
  args: 'ID',
  flags: [{ name: 'force', short: 'f', help: 'kill a container that is still running (or paused) first, with SIGKILL' }],
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    const ctx = await makeContext(g);
    await deleteContainer(ctx, id!, bool(p, 'force'), teardownNetworkOf(ctx, id!));
    return 0;
  },
};
