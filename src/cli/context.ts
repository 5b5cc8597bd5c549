import type { GlobalOptions } from './command.js';
import { realSyscalls } from '../runtime/sys/index.js';
import type { Context } from '../runtime/container/context.js';
import { traceSyscalls } from '../runtime/sys/tracing.js';
import { fdSink, startExplaining } from '../explain/events.js';
import { cliLogger } from './log.js';

export async function makeContext(g: GlobalOptions): Promise<Context> {
  const real = await realSyscalls();
  if (!g.explain) return { root: g.root, sys: real, log: cliLogger(g) };
  startExplaining(fdSink(2, g.explain), 'runtime');
  return { root: g.root, sys: traceSyscalls(real), log: cliLogger(g), explain: g.explain };
}
