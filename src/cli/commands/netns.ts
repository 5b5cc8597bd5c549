import { TsrunError } from '../../errors.js';
import { NETNS_DIR, NetnsStore } from '../../network/netns.js';
import { realSyscalls } from '../../sys/index.js';
import type { Command } from '../command.js';

// tsrun netns add|del|list|exec NAME: named network namespaces in ip-netns layout.

export const command: Command = {
  args: 'add NAME | del NAME | list | exec NAME -- COMMAND [ARGS…]',
  flags: [],
  // After `exec NAME` everything belongs to the command, its flags included.
  flagsEndAtPositional: true,
  async run(p, _g, usage) {
    const [sub, name, ...rest] = p.positionals;
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
