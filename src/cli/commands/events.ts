import type { Command } from '../command.js';
import { bool, expectArgs, str } from '../args.js';
import { statsEvent, watchEvents } from '../../runtime/container/events.js';
import { toJson } from '../../runtime/cgroups/index.js';
import { parseDuration } from '../duration.js';

export const command: Command = {
  args: 'ID',
  flags: [
    { name: 'interval', value: 'DURATION', help: 'time between stats events, as 5s, 500ms, 1m (default 5s)' },
    { name: 'stats', help: 'print the stats once and exit' },
  ],
  notes: ['Prints one JSON object a line: {"type":"stats","id":…,"data":{…}} and {"type":"oom","id":…}, until the container stops.'],
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    const intervalMs = parseDuration(str(p, 'interval') ?? '5s', 'interval');
    const print = (e: unknown): void => void process.stdout.write(toJson(e) + '\n');
    if (bool(p, 'stats')) print(statsEvent(g.root, id!));
    else await watchEvents(g.root, id!, intervalMs, print);
    return 0;
  },
};
