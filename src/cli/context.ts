import type { GlobalOptions } from './command.js';
import { realSyscalls } from '../runtime/sys/index.js';
import { stderrLogger, type Context } from '../runtime/container/context.js';
import { traceSyscalls } from '../runtime/sys/tracing.js';
import { fdSink, startExplaining } from '../explain/events.js';

export async function makeContext(g: GlobalOptions): Promise<Context> {
  const real = await realSyscalls();
  if (!g.explain) return { root: g.root, sys: real, log: stderrLogger(g.debug) };
  startExplaining(fdSink(2, g.explain), 'runtime');
  return { root: g.root, sys: traceSyscalls(real), log: stderrLogger(g.debug), explain: g.explain };
}
