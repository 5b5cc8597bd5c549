import { TsrunError } from '../errors.js';

// Container status is derived from facts every time, never trusted from disk
// (the init may have died since anyone last looked).

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface StatusFacts {
  /** create has not finished yet */
  creating: boolean;
  /** the create process is still alive (only meaningful while creating) */
  creatorAlive: boolean;
  /** create has not launched the init yet (its pid is still 0) */
  beforeInit?: boolean;
  /** the init (or the container process it became) is alive, same start time, not a zombie */
  initAlive: boolean;
  /** exec.fifo still exists: start has not consumed it */
  fifoExists: boolean;
  frozen: boolean;
}

export function deriveStatus(f: StatusFacts): Status {
  // a live creator whose init died is about to clean up: stopped; one that has not launched it yet is creating
  if (f.creating) return f.creatorAlive && (f.initAlive || f.beforeInit) ? 'creating' : 'stopped';
  if (!f.initAlive) return 'stopped';
  if (f.frozen) return 'paused';
  return f.fifoExists ? 'created' : 'running';
}

export const canStart = (s: Status): boolean => s === 'created';
export const canKill = (s: Status): boolean => s === 'created' || s === 'running' || s === 'paused';
/** Without --force, only stopped containers (and created ones, like runc) may be deleted. */
export const canDeleteWithoutForce = (s: Status): boolean => s === 'stopped' || s === 'created';

// The refusals below keep runc's words: containerd, CRI-O, podman and conmon
// match on them ("container not running", "not stopped", "not paused"). The
// README lists them; change none without checking who parses it.

const refuse = (message: string, hint?: string): TsrunError => new TsrunError('BAD_STATE', message, hint ? { hint } : {});

/** kill: a stopped container (or one still being created) has no process to signal. */
export function checkKill(s: Status): void {
  if (!canKill(s)) throw refuse('container not running');
}

/** pause: runc freezes created containers too. */
export function checkPause(s: Status): void {
  if (s !== 'running' && s !== 'created') throw refuse('container not running');
}

export function checkResume(s: Status): void {
  if (s !== 'paused') throw refuse('container not paused');
}

export function checkStart(s: Status): void {
  if (canStart(s)) return;
  if (s === 'stopped') throw refuse('cannot start a container that has stopped', 'delete it, then create it again');
  if (s === 'running') throw refuse('cannot start an already running container');
  throw refuse(`cannot start a container in the ${s} state`);
}

export function checkDelete(id: string, s: Status): void {
  if (!canDeleteWithoutForce(s)) throw refuse(`cannot delete container ${id} that is not stopped: ${s}`, `tsrun kill ${id} KILL, or tsrun delete --force ${id}`);
}

/** exec: into running and created containers; a paused one only when asked (the process would start frozen). */
export function checkExecStatus(s: Status, ignorePaused: boolean): void {
  if (s === 'running' || s === 'created' || (s === 'paused' && ignorePaused)) return;
  if (s === 'paused') throw refuse('cannot exec in a paused container (use --ignore-paused to override)');
  throw refuse(`cannot exec in a ${s} container`);
}

/** update and events: a cgroup that is still in use. */
export function checkLive(id: string, s: Status, what: 'update' | 'events'): void {
  if (s === 'running' || s === 'created' || s === 'paused') return;
  throw refuse(what === 'events' ? `container with id ${id} is not running` : 'container not running');
}
