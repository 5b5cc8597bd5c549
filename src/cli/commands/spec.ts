import { bool, expectArgs, str, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { defaultSpec } from '../../spec/defaults.js';
import { writeSpecFile } from '../../spec/write.js';

const flags: FlagSpec[] = [
  { name: 'bundle', short: 'b', value: 'DIR', help: 'bundle directory to write config.json into (default: current directory)' },
  { name: 'rootless', help: 'a spec for a container run by an unprivileged user' },
];

export const command: Command = {
  args: '',
  flags,
  async run(p, _g, usage) {
    expectArgs(p, [], usage);
    writeSpecFile(str(p, 'bundle') ?? '.', defaultSpec({ rootless: bool(p, 'rootless') }));
    return 0;
  },
};
