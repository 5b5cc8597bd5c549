import type { GlobalOptions } from './command.js';
import { realSyscalls } from '../runtime/sys/index.js';
import { stderrLogger, type Context } from '../runtime/container/context.js';
import { traceSyscalls } from '../runtime/sys/tracing.js';
import { fdSink, startExplaining } from '../explain/events.js';
import { mark, timingsOn } from '../explain/timings.js';

export async function makeContext(g: GlobalOptions): Promise<Context> {
  const real = await realSyscalls();
  mark('syscalls ready');
  // TSRUN_TIMINGS records the traced calls too (see explain/timings.ts).
  if (!g.explain) return { root: g.root, sys: timingsOn() ? traceSyscalls(real) : real, log: stderrLogger(g.debug) };
  startExplaining(fdSink(2, g.explain), 'runtime');
  return { root: g.root, sys: traceSyscalls(real), log: stderrLogger(g.debug), explain: g.explain };
}
