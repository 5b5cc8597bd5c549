import type { Command } from '../command.js';
import { str, bool, expectArgs } from '../args.js';
import { listContainers } from '../../runtime/container/list.js';
import { TsrunError } from '../../errors.js';
import { writeOut } from '../../output.js';

export const command: Command = {
  args: '',
  flags: [
    { name: 'format', short: 'f', value: 'table|json', help: 'output format (default table)' },
    { name: 'quiet', short: 'q', help: 'print only the container ids' },
  ],
  async run(p, g, usage) {
    expectArgs(p, [], usage);
    const format = str(p, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') throw new TsrunError('BAD_INPUT', `--format: expected table or json, got "${format}"`);
    const all = listContainers(g.root);
    if (format === 'json') writeOut(JSON.stringify(all) + '\n');
    else if (bool(p, 'quiet')) for (const c of all) writeOut(`${c.id}\n`);
    else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((c) => [c.id, String(c.pid), c.status, c.bundle, String(c.created), String(c.owner)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) writeOut(r.map((v, i) => v.padEnd(widths[i]!)).join('   ').trimEnd() + '\n');
    }
    return 0;
  },
};
