import { bool, expectArgs, parseFlags, str, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { defaultSpec } from '../../spec/defaults.js';
import { writeSpecFile } from '../../spec/write.js';

const USAGE = 'tsrun spec [--bundle|-b DIR] [--rootless]';

const flags: FlagSpec[] = [
  { name: 'bundle', short: 'b', value: true, help: 'bundle directory to write config.json into (default: current directory)' },
  { name: 'rootless', help: 'a spec for a container run by an unprivileged user' },
];

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parseFlags(argv, flags);
    expectArgs(parsed, [], USAGE);
    writeSpecFile(str(parsed, 'bundle') ?? '.', defaultSpec({ rootless: bool(parsed, 'rootless') }));
    return 0;
  },
};
