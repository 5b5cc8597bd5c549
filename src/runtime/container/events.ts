import { TsrunError } from '../../errors.js';
import { oomKills, runcStats, type RuncStats } from '../cgroups/index.js';
import { sleep } from '../../sys/proc.js';
import { checkLive } from '../status.js';
import { inspect, type Inspected } from './inspect.js';

// events: stats of the container's cgroup as runc prints them, once or every
// interval until the container stops, plus an "oom" event whenever the
// kernel's OOM killer acted in the cgroup (its oom_kill counter grew).

export type ContainerEvent = { type: 'stats'; id: string; data: RuncStats } | { type: 'oom'; id: string };

function live(root: string, id: string): Inspected {
  const c = inspect(root, id);
  checkLive(id, c.status, 'events');
  if (!c.record.cgroupPaths) throw new TsrunError('NOT_SUPPORTED', `container "${id}" has no cgroup to read stats from`);
  return c;
}

export function statsEvent(root: string, id: string): ContainerEvent {
  return { type: 'stats', id, data: runcStats(live(root, id).record.cgroupPaths!) };
}

/** Stopped, or already deleted (its state gone): either way the stream ends. */
function gone(root: string, id: string): boolean {
  try {
    return inspect(root, id).status === 'stopped';
  } catch (err) {
    if (err instanceof TsrunError && err.code === 'NOT_FOUND') return true;
    throw err;
  }
}

/** OOM checks run this often between stats, so an OOM is reported soon after it happens. */
const OOM_POLL_MS = 100;

/** Emits stats every `intervalMs` and OOM events as they happen; returns once the container has stopped. */
export async function watchEvents(root: string, id: string, intervalMs: number, emit: (e: ContainerEvent) => void): Promise<void> {
  const paths = live(root, id).record.cgroupPaths!;
  let ooms = oomKills(paths) ?? 0n;
  let next = Date.now() + intervalMs;
  for (;;) {
    await sleep(Math.max(0, Math.min(OOM_POLL_MS, next - Date.now())));
    const now = oomKills(paths);
    if (now !== undefined && now > ooms) {
      ooms = now;
      emit({ type: 'oom', id });
    }
    if (gone(root, id)) return;
    if (Date.now() >= next) {
      next += intervalMs;
      try {
        emit({ type: 'stats', id, data: runcStats(paths) });
      } catch (err) {
        // the cgroup went away with the container between the two looks
        if (gone(root, id)) return;
        throw err;
      }
    }
  }
}
