import { TsrunError } from '../../errors.js';
import { collect, realShowDeps, renderMermaid, renderText } from '../../network/show/index.js';
import { containerTarget, netnsTarget } from '../net-show-target.js';
import { realSyscalls } from '../../sys/index.js';
import { str, type Parsed } from '../args.js';
import type { GlobalOptions } from '../command.js';

// tsrun net show ID | --netns PATH: a container's network, live from the
// kernel, next to what the CNI cache says (network/show/).

/** `p`: parsed with the net command's flags; positionals[0] is "show". */
export async function runShow(p: Parsed, globals: GlobalOptions, usage: string): Promise<number> {
  const format = str(p, 'format') ?? 'text';
  if (!['text', 'json', 'mermaid'].includes(format)) throw new TsrunError('BAD_INPUT', `--format: expected text, json or mermaid, got "${format}"`);
  const netns = str(p, 'netns');
  const [, id, extra] = p.positionals;
  if (extra !== undefined || (!id && !netns) || (id && netns)) throw new TsrunError('BAD_INPUT', 'net show: give a container ID or --netns PATH', { hint: `usage: ${usage}` });
  const cacheDirs = str(p, 'cache-dir') ? [str(p, 'cache-dir')!] : [];
  const target = netns ? netnsTarget(netns, cacheDirs) : containerTarget(globals.root, id!, cacheDirs);
  const view = collect(realShowDeps(await realSyscalls()), target);
  process.stdout.write(format === 'json' ? JSON.stringify(view, null, 2) + '\n' : format === 'mermaid' ? renderMermaid(view) : renderText(view));
  return 0;
}
