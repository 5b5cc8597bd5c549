import { existsSync } from 'node:fs';
import { TsrunError, TeardownError, errorMessage } from '../../errors.js';
import { containerDir, removeContainerDir, withLock } from '../state-store.js';
import { isAlive, sleep } from '../../sys/proc.js';
import { checkDelete } from '../status.js';
import { runHooksWarnOnly } from '../../oci-hooks/run.js';
import type { Context } from './context.js';
import { cgroupManagerFromPaths } from '../cgroups/index.js';
import { containerPids, inspect, ociState } from './inspect.js';
import type { CreateOptions } from './create.js';

/** How long delete waits for a SIGKILLed init to die (a task stuck in D state never does). */
const INIT_EXIT_MS = 10_000;

async function waitGone(pid: number, startTime: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let delay = 1; isAlive(pid, startTime); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline) return false;
    await sleep(delay);
  }
  return true;
}

// delete: kill what is left (created containers, or anything with --force),
// run poststop hooks, remove the state. Teardown keeps going on errors.

/**
 * `inProcess.poststop` runs after the config's poststop hooks: the caller's own
 * teardown (the CLI's network, found through the state dir). The runtime knows
 * no network code; it only calls what it is handed, also for a `--force` of an
 * id whose state is gone (status "stopped", no bundle).
 */
export async function deleteContainer(ctx: Context, id: string, force = false, inProcess?: Pick<CreateOptions, 'inProcessHooks'>['inProcessHooks']): Promise<void> {
  if (!existsSync(containerDir(ctx.root, id))) {
    // The state is gone (rebooted /run): what the caller set up elsewhere may remain.
    if (force) {
      await inProcess?.poststop?.({ ociVersion: '', id, status: 'stopped', bundle: '' });
      return;
    }
    throw new TsrunError('NOT_FOUND', `container "${id}" does not exist`);
  }
  await withLock(ctx.sys, ctx.root, id, async () => {
    let c;
    try {
      c = inspect(ctx.root, id);
    } catch (err) {
      // A create killed before it saved any state leaves only the directory.
      if (!force && !(err instanceof TsrunError && err.code === 'NOT_FOUND')) throw err;
      removeContainerDir(ctx.sys, ctx.root, id);
      return;
    }
    if (!force) checkDelete(id, c.status);
    const errors: unknown[] = [];
    if (c.status !== 'stopped') {
      for (const pid of containerPids(c)) {
        try {
          ctx.sys.kill(pid, 9);
        } catch (err) {
          if ((err as { errno?: string }).errno !== 'ESRCH') errors.push(err);
        }
      }
      // SIGKILL stays pending in a frozen task: thaw after killing, so nothing runs again meanwhile.
      if (c.record.cgroupPaths) {
        try {
          const cg = cgroupManagerFromPaths(ctx.sys, c.record.cgroupPaths);
          if (cg.isFrozen()) cg.thaw();
        } catch (err) {
          errors.push(err);
        }
      }
      const gone = await waitGone(c.record.pid, c.record.initStartTime, INIT_EXIT_MS);
      if (!gone) errors.push(new TsrunError('SYSCALL', `the init (pid ${c.record.pid}) is still alive ${INIT_EXIT_MS} ms after SIGKILL`, { errno: 'EBUSY' }));
    }
    if (c.record.cgroupPaths) {
      try {
        await cgroupManagerFromPaths(ctx.sys, c.record.cgroupPaths).destroy();
      } catch (err) {
        errors.push(err);
      }
    }
    const stopped = ociState({ record: c.record, status: 'stopped' });
    await runHooksWarnOnly('poststop', c.record.spec.hooks?.poststop, stopped, (m) => ctx.log.warn(m));
    try {
      await inProcess?.poststop?.(stopped);
    } catch (err) {
      errors.push(err);
    }
    try {
      removeContainerDir(ctx.sys, ctx.root, id);
    } catch (err) {
      errors.push(err);
    }
    if (errors.length) throw new TeardownError(`delete ${id}`, errors.map(errorMessage));
  });
}
