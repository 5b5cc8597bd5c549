import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags, str, bool, list } from '../args.js';
import { makeContext } from '../context.js';
import { runContainer } from '../../runtime/container/run.js';
import { generateId } from '../../runtime/ids.js';
import { TsrunError } from '../../errors.js';
import { networkOptions } from '../container-network.js';

const flags = [
  { name: 'bundle', short: 'b', value: true },
  { name: 'detach', short: 'd' },
  { name: 'pid-file', value: true },
  { name: 'console-socket', value: true },
  { name: 'no-pivot' },
  { name: 'no-new-keyring' },
  { name: 'keep' },
  { name: 'net', value: true, repeat: true },
  { name: 'publish', short: 'p', value: true, repeat: true },
  { name: 'conf-dir', value: true },
  { name: 'cni-path', value: true },
  { name: 'cache-dir', value: true },
];

const isBundleDir = (p: string): boolean => existsSync(join(p, 'config.json')) && statSync(p).isDirectory();

export const command: Command = {
  usage:
    'tsrun run [--bundle DIR] [-d] [--pid-file FILE] [--net NAME[:ifname=IF]|none|host|container:ID]… [-p HOST:CONTAINER[/tcp|udp]]… ' +
    '[--conf-dir D] [--cni-path P] [--cache-dir D] ID | tsrun run [flags] BUNDLE-DIR',
  async run(argv, g) {
    const p = parseFlags(argv, flags);
    if (p.positionals.length !== 1) throw new TsrunError('BAD_INPUT', 'expected one ID or bundle directory', { hint: `usage: ${this.usage}` });
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
      detach: bool(p, 'detach'),
      keep: bool(p, 'keep'),
      ...net,
    });
  },
};
