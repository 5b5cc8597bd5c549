import { TsrunError } from '../../errors.js';
import { checkPause, checkResume } from '../status.js';
import { cgroupManagerFromPaths } from '../cgroups/index.js';
import { withLock } from '../state-store.js';
import type { Context } from './context.js';
import { inspect } from './inspect.js';

// pause/resume: the cgroup freezer stops every process of the container.

export async function pauseContainer(ctx: Context, id: string): Promise<void> {
  await withLock(ctx.sys, ctx.root, id, async () => {
    const c = inspect(ctx.root, id);
    checkPause(c.status);
    if (!c.record.cgroupPaths) throw new TsrunError('NOT_SUPPORTED', `container "${id}" has no cgroup to freeze`);
    await cgroupManagerFromPaths(ctx.sys, c.record.cgroupPaths).freeze();
  });
}

export async function resumeContainer(ctx: Context, id: string): Promise<void> {
  await withLock(ctx.sys, ctx.root, id, async () => {
    const c = inspect(ctx.root, id);
    checkResume(c.status);
    cgroupManagerFromPaths(ctx.sys, c.record.cgroupPaths!).thaw();
  });
}
