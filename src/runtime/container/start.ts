import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { O } from '../sys/constants.js';
import { TsrunError } from '../../errors.js';
import { fifoPath, withLock } from '../state-store.js';
import { isAlive, sleep } from '../proc.js';
import { checkStart } from '../status.js';
import { runHooks } from '../../hooks/run.js';
import type { Context } from './context.js';
import { inspect, ociState } from './inspect.js';

// start: open exec.fifo and read the init's byte, which lets it exec the
// container process. Polls instead of blocking, so a dead init cannot hang us.

export async function startContainer(ctx: Context, id: string): Promise<void> {
  await withLock(ctx.sys, ctx.root, id, async () => {
    const c = inspect(ctx.root, id);
    checkStart(c.status);
    const path = fifoPath(ctx.root, id);
    const fd = openSync(path, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
    try {
      const buf = Buffer.alloc(1);
      for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
        let n = 0;
        try {
          n = readSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
        if (n === 1) break;
        if (!isAlive(c.record.pid, c.record.initStartTime)) {
          throw new TsrunError('INIT', `container "${id}" init died before it could start`);
        }
        await sleep(delay);
      }
    } finally {
      closeSync(fd);
    }
    unlinkSync(path);
    await runHooks('poststart', c.record.spec.hooks?.poststart, ociState({ record: c.record, status: 'running' }));
  });
}
