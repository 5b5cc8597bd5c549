import { TsrunError } from '../../errors.js';
import { collect, containerTarget, netnsTarget, realShowDeps, renderMermaid, renderText } from '../../network/show/index.js';
import { realSyscalls } from '../../runtime/sys/index.js';
import { list, parseFlags, str, type FlagSpec } from '../args.js';
import type { GlobalOptions } from '../command.js';

// tsrun net show ID | --netns PATH: a container's network, live from the
// kernel, next to what the CNI cache says (network/show/).

export const SHOW_USAGE = 'tsrun net show ID | --netns PATH  [--format text|json|mermaid] [--cache-dir D]…';

const flags: FlagSpec[] = [
  { name: 'netns', value: true },
  { name: 'format', value: true },
  { name: 'cache-dir', value: true, repeat: true },
];

export async function runShow(argv: string[], globals: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, flags);
  const format = str(p, 'format') ?? 'text';
  if (!['text', 'json', 'mermaid'].includes(format)) throw new TsrunError('BAD_INPUT', `--format: expected text, json or mermaid, got "${format}"`);
  const netns = str(p, 'netns');
  const [id, extra] = p.positionals;
  if (extra !== undefined || (!id && !netns) || (id && netns)) throw new TsrunError('BAD_INPUT', 'net show: give a container ID or --netns PATH', { hint: `usage: ${SHOW_USAGE}` });
  const cacheDirs = list(p, 'cache-dir');
  const target = netns ? netnsTarget(netns, cacheDirs) : containerTarget(globals.root, id!, cacheDirs);
  const view = collect(realShowDeps(await realSyscalls()), target);
  process.stdout.write(format === 'json' ? JSON.stringify(view, null, 2) + '\n' : format === 'mermaid' ? renderMermaid(view) : renderText(view));
  return 0;
}
