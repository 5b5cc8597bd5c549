import type { Command } from '../command.js';
import { str, bool, int, expectArgs, type FlagSpec } from '../args.js';
import { preservedFdCount } from '../preserve-fds.js';
import { makeContext } from '../context.js';
import { createContainer } from '../../runtime/container/create.js';
import { networkOptions } from '../container-network.js';

const flags: FlagSpec[] = [
  { name: 'bundle', short: 'b', value: 'DIR', help: 'bundle directory (default: current directory)' },
  { name: 'pid-file', value: 'FILE', help: "write the container process's host pid here" },
  { name: 'console-socket', value: 'SOCKET', help: 'unix socket that receives the pty master when process.terminal is true' },
  { name: 'no-pivot', help: 'move the root with MS_MOVE + chroot instead of pivot_root (rootfs on a ramdisk)' },
  { name: 'no-new-keyring', help: 'accepted for runc compatibility (tsrun creates no session keyring)' },
  { name: 'preserve-fds', value: 'N', help: 'pass fds 3 … 3+N-1 of tsrun on to the container\'s process' },
];

export const command: Command = {
  args: 'ID',
  flags,
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    const ctx = await makeContext(g);
    const { child } = await createContainer(ctx, {
      id: id!,
      bundle: str(p, 'bundle') ?? '.',
      pidFile: str(p, 'pid-file'),
      consoleSocket: str(p, 'console-socket'),
      noPivot: bool(p, 'no-pivot'),
      preserveFds: preservedFdCount(int(p, 'preserve-fds')),
      // The org.tsrun.network annotation attaches CNI networks, as with `tsrun run --net`.
      ...networkOptions(ctx, id!, {}),
    });
    child.unref();
    return 0;
  },
};
