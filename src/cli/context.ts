import type { GlobalOptions } from './command.js';
import { realSyscalls } from '../runtime/sys/index.js';
import { stderrLogger, type Context } from '../runtime/container/context.js';

export async function makeContext(g: GlobalOptions): Promise<Context> {
  return { root: g.root, sys: await realSyscalls(), log: stderrLogger(g.debug) };
}
