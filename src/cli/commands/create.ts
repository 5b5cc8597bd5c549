import type { Command } from '../command.js';
import { parseFlags, str, bool, expectArgs } from '../args.js';
import { makeContext } from '../context.js';
import { createContainer } from '../../runtime/container/create.js';
import { networkOptions } from '../container-network.js';

const flags = [
  { name: 'bundle', short: 'b', value: true },
  { name: 'pid-file', value: true },
  { name: 'console-socket', value: true },
  { name: 'no-pivot' },
  { name: 'no-new-keyring' },
  { name: 'preserve-fds', value: true },
];

export const command: Command = {
  usage: 'tsrun create [--bundle DIR] [--pid-file FILE] [--no-pivot] ID',
  async run(argv, g) {
    const p = parseFlags(argv, flags);
    const [id] = expectArgs(p, ['ID'], this.usage);
    const ctx = await makeContext(g);
    const { child } = await createContainer(ctx, {
      id: id!,
      bundle: str(p, 'bundle') ?? '.',
      pidFile: str(p, 'pid-file'),
      consoleSocket: str(p, 'console-socket'),
      noPivot: bool(p, 'no-pivot'),
      // The org.tsrun.network annotation attaches CNI networks, as with `tsrun run --net`.
      ...networkOptions(ctx, id!, {}),
    });
    child.unref();
    return 0;
  },
};
