import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { str, bool, int, list, type FlagSpec } from '../args.js';
import { preservedFdCount } from '../preserve-fds.js';
import { makeContext } from '../context.js';
import { runContainer } from '../../runtime/container/run.js';
import { generateId } from '../../common/ids.js';
import { TsrunError } from '../../errors.js';
import { networkOptions } from '../container-network.js';

const flags: FlagSpec[] = [
  { name: 'bundle', short: 'b', value: 'DIR', help: 'bundle directory (default: current directory)' },
  { name: 'detach', short: 'd', help: 'return once the container runs, leaving it running' },
  { name: 'pid-file', value: 'FILE', help: "write the container process's host pid here" },
  { name: 'console-socket', value: 'SOCKET', help: 'unix socket that receives the pty master when process.terminal is true' },
  { name: 'no-pivot', help: 'move the root with MS_MOVE + chroot instead of pivot_root (rootfs on a ramdisk)' },
  { name: 'no-new-keyring', help: 'accepted for runc compatibility (tsrun creates no session keyring)' },
  { name: 'keep', help: 'do not delete the container after it exits' },
  { name: 'preserve-fds', value: 'N', help: 'pass fds 3 … 3+N-1 of tsrun on to the container\'s process' },
  { name: 'net', value: 'NAME[:ifname=IF]|none|host|container:ID', repeat: true, help: 'attach a CNI network (from --conf-dir), run in this process; repeat for eth1, eth2…' },
  { name: 'publish', short: 'p', value: 'HOST:CONTAINER[/tcp|udp]', repeat: true, help: 'publish a port (portmap)' },
  { name: 'conf-dir', value: 'DIR', help: 'CNI network configurations (default /etc/cni/net.d)' },
  { name: 'cni-path', value: 'PATH', help: 'CNI plugin directories, colon-separated' },
  { name: 'cache-dir', value: 'DIR', help: 'CNI result cache (default /var/lib/cni)' },
];

const isBundleDir = (p: string): boolean => existsSync(join(p, 'config.json')) && statSync(p).isDirectory();

export const command: Command = {
  args: 'ID | BUNDLE-DIR',
  flags,
  notes: ['tsrun run BUNDLE-DIR runs a bundle under a generated id.'],
  async run(p, g, usage) {
    if (p.positionals.length !== 1) throw new TsrunError('BAD_INPUT', 'expected one ID or bundle directory', { hint: `usage: ${usage}` });
    const arg = p.positionals[0]!;
    // `tsrun run <bundle>`: a directory with config.json and no --bundle means "run this bundle".
    const byDir = !str(p, 'bundle') && arg.includes('/') ? true : !str(p, 'bundle') && isBundleDir(arg);
    const ctx = await makeContext(g);
    const id = byDir ? generateId() : arg;
    // The CNI code is loaded after the init was spawned (inside adjustSpec), and runs in this process.
    const net = networkOptions(ctx, id, { nets: list(p, 'net'), publish: list(p, 'publish'), confDir: str(p, 'conf-dir'), cniPath: str(p, 'cni-path'), cacheDir: str(p, 'cache-dir') });
    return runContainer(ctx, {
      id,
      bundle: byDir ? arg : (str(p, 'bundle') ?? '.'),
      pidFile: str(p, 'pid-file'),
      consoleSocket: str(p, 'console-socket'),
      noPivot: bool(p, 'no-pivot'),
      preserveFds: preservedFdCount(int(p, 'preserve-fds')),
      detach: bool(p, 'detach'),
      keep: bool(p, 'keep'),
      ...net,
    });
  },
};
