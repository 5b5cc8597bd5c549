import { TsrunError } from '../../errors.js';
import { NETNS_DIR, NetnsStore } from '../../network/netns.js';
import { realSyscalls } from '../../runtime/sys/index.js';
import { parseFlags } from '../args.js';
import type { Command } from '../command.js';

// tsrun netns add|del|list|exec NAME: named network namespaces in ip-netns layout.

const usage = 'tsrun netns add NAME | del NAME | list | exec NAME -- COMMAND [ARGS…]';

export const command: Command = {
  usage,
  async run(argv) {
    // After `exec NAME` everything belongs to the command, its flags included.
    const [sub, name, ...rest] = argv[0] === 'exec' ? argv : parseFlags(argv, []).positionals;
    const store = new NetnsStore(await realSyscalls(), NETNS_DIR);
    const need = (what: string | undefined): string => {
      if (!what) throw new TsrunError('BAD_INPUT', `netns ${sub}: missing NAME`, { hint: `usage: ${usage}` });
      return what;
    };
    switch (sub) {
      case 'add':
        store.add(need(name));
        return 0;
      case 'del':
      case 'delete':
        store.delete(need(name));
        return 0;
      case 'list':
      case 'ls':
        for (const n of store.list()) process.stdout.write(`${n}\n`);
        return 0;
      case 'exec':
        return store.exec(need(name), rest[0] === '--' ? rest.slice(1) : rest);
      default:
        throw new TsrunError('BAD_INPUT', `netns: unknown subcommand "${sub ?? ''}"`, { hint: `usage: ${usage}` });
    }
  },
};
