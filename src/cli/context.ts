import type { GlobalOptions } from './command.js';
import { realSyscalls } from '../sys/index.js';
import type { Context } from '../runtime/container/context.js';
import { cliLogger } from './log.js';
import { mark, timingsOn } from '../explain/timings.js';

export async function makeContext(g: GlobalOptions): Promise<Context> {
  const real = await realSyscalls();
  mark('syscalls ready');
  if (!g.explain && !timingsOn()) return { root: g.root, sys: real, log: cliLogger(g) };
  // Tracing is loaded only for --explain, and for TSRUN_TIMINGS, which records the traced calls too.
  const { traceSyscalls } = await import('../sys/tracing.js');
  if (!g.explain) return { root: g.root, sys: traceSyscalls(real), log: cliLogger(g) };
  const { fdSink, startExplaining } = await import('../explain/events.js');
  startExplaining(fdSink(2, g.explain), 'runtime');
  return { root: g.root, sys: traceSyscalls(real), log: cliLogger(g), explain: g.explain };
}
