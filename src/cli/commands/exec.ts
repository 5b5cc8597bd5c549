import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseFlags, str, bool, list } from '../args.js';
import { makeContext } from '../context.js';
import { execInContainer } from '../../runtime/container/exec.js';
import { execProcessFrom } from '../../runtime/container/exec-process.js';
import { inspect } from '../../runtime/container/inspect.js';
import { TsrunError } from '../../errors.js';

const flags = [
  { name: 'process', short: 'p', value: true },
  { name: 'detach', short: 'd' },
  { name: 'pid-file', value: true },
  { name: 'console-socket', value: true },
  { name: 'tty', short: 't' },
  { name: 'env', short: 'e', value: true, repeat: true },
  { name: 'cwd', value: true },
  { name: 'user', short: 'u', value: true },
  { name: 'additional-gids', short: 'g', value: true, repeat: true },
  { name: 'cap', short: 'c', value: true, repeat: true },
  { name: 'no-new-privs' },
  { name: 'preserve-fds', value: true },
];

export const command: Command = {
  usage: 'tsrun exec [--process FILE | -e K=V --cwd DIR -u UID[:GID] -t] [-d] [--pid-file F] [--console-socket S] ID [COMMAND ARGS…]',
  async run(argv, g) {
    const p = parseFlags(argv, flags, true);
    const [id, ...args] = p.positionals;
    if (!id) throw new TsrunError('BAD_INPUT', 'expected a container ID', { hint: `usage: ${this.usage}` });
    const file = str(p, 'process');
    const base = inspect(g.root, id).record.spec.process;
    const proc = execProcessFrom(base, {
      processJson: file ? { file, text: readFileSync(file, 'utf8') } : undefined,
      args,
      env: list(p, 'env'),
      cwd: str(p, 'cwd'),
      user: str(p, 'user'),
      additionalGids: list(p, 'additional-gids'),
      caps: list(p, 'cap'),
      tty: bool(p, 'tty'),
      noNewPrivs: bool(p, 'no-new-privs'),
    });
    return execInContainer(await makeContext(g), {
      id,
      process: proc,
      detach: bool(p, 'detach'),
      pidFile: str(p, 'pid-file'),
      consoleSocket: str(p, 'console-socket'),
    });
  },
};
