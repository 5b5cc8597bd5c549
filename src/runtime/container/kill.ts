import { parseSignal } from '../signals.js';
import { checkKill } from '../status.js';
import { TsrunError } from '../../errors.js';
import type { Context } from './context.js';
import { containerPids, inspect } from './inspect.js';

// kill: a signal to the init, or with --all to every process in the container.
// Signal 0 sends nothing and only asks the kernel whether the init is alive.

export function killContainer(ctx: Context, id: string, signal = 'SIGTERM', all = false): void {
  const signo = parseSignal(signal);
  const c = inspect(ctx.root, id);
  // Like runc, --all of a stopped container is not an error: there is nobody left to signal.
  if (all && c.status === 'stopped') return;
  checkKill(c.status);
  const pids = all ? containerPids(c) : [c.record.pid];
  for (const pid of pids) {
    try {
      ctx.sys.kill(pid, signo);
    } catch (err) {
      if ((err as { errno?: string }).errno !== 'ESRCH') throw err;
      // The init exited between the status check and the signal: it is not running now.
      if (!all) throw new TsrunError('BAD_STATE', 'container not running');
    }
  }
}
