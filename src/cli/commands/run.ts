import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags, str, bool } from '../args.js';
import { makeContext } from '../context.js';
import { runContainer } from '../../runtime/container/run.js';
import { generateId } from '../../runtime/ids.js';
import { TsrunError } from '../../errors.js';

const flags = [
  { name: 'bundle', short: 'b', value: true },
  { name: 'detach', short: 'd' },
  { name: 'pid-file', value: true },
  { name: 'console-socket', value: true },
  { name: 'no-pivot' },
  { name: 'no-new-keyring' },
  { name: 'keep' },
];

const isBundleDir = (p: string): boolean => existsSync(join(p, 'config.json')) && statSync(p).isDirectory();

export const command: Command = {
  usage: 'tsrun run [--bundle DIR] [-d] [--pid-file FILE] ID | tsrun run BUNDLE-DIR',
  async run(argv, g) {
    const p = parseFlags(argv, flags);
    if (p.positionals.length !== 1) throw new TsrunError('BAD_INPUT', 'expected one ID or bundle directory', { hint: `usage: ${this.usage}` });
    const arg = p.positionals[0]!;
    // `tsrun run <bundle>`: a directory with config.json and no --bundle means "run this bundle".
    const byDir = !str(p, 'bundle') && arg.includes('/') ? true : !str(p, 'bundle') && isBundleDir(arg);
    return runContainer(await makeContext(g), {
      id: byDir ? generateId() : arg,
      bundle: byDir ? arg : (str(p, 'bundle') ?? '.'),
      pidFile: str(p, 'pid-file'),
      consoleSocket: str(p, 'console-socket'),
      noPivot: bool(p, 'no-pivot'),
      detach: bool(p, 'detach'),
      keep: bool(p, 'keep'),
    });
  },
};
