import { TsrunError } from '../../errors.js';
import { parseSignal } from '../signals.js';
import { canKill } from '../status.js';
import type { Context } from './context.js';
import { containerPids, inspect } from './inspect.js';

// kill: a signal to the init, or with --all to every process in the container.

export function killContainer(ctx: Context, id: string, signal = 'SIGTERM', all = false): void {
  const signo = parseSignal(signal);
  const c = inspect(ctx.root, id);
  if (!canKill(c.status)) throw new TsrunError('BAD_STATE', `container "${id}" is not running (${c.status})`);
  const pids = all ? containerPids(c) : [c.record.pid];
  for (const pid of pids) {
    try {
      ctx.sys.kill(pid, signo);
    } catch (err) {
      // a process that exited meanwhile is fine
      if ((err as { errno?: string }).errno !== 'ESRCH') throw err;
    }
  }
}
