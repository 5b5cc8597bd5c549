// Container status is derived from facts every time, never trusted from disk
// (the init may have died since anyone last looked).

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface StatusFacts {
  /** create has not finished yet */
  creating: boolean;
  /** the create process is still alive (only meaningful while creating) */
  creatorAlive: boolean;
  /** the init (or the container process it became) is alive, same start time, not a zombie */
  initAlive: boolean;
  /** exec.fifo still exists: start has not consumed it */
  fifoExists: boolean;
  frozen: boolean;
}

export function deriveStatus(f: StatusFacts): Status {
  if (f.creating) return f.creatorAlive && f.initAlive ? 'creating' : 'stopped';
  if (!f.initAlive) return 'stopped';
  if (f.frozen) return 'paused';
  return f.fifoExists ? 'created' : 'running';
}

export const canStart = (s: Status): boolean => s === 'created';
export const canKill = (s: Status): boolean => s === 'created' || s === 'running' || s === 'paused';
/** Without --force, only stopped containers (and created ones, like runc) may be deleted. */
export const canDeleteWithoutForce = (s: Status): boolean => s === 'stopped' || s === 'created';
