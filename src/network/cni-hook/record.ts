import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkId } from '../../common/ids.js';
import { madeTargetsOf, type MadeTargets } from './etc-mounts.js';
import type { NetworkRef } from './options.js';

// The hook's own note, next to libcni's results/: one file per container it
// networked, written before anything else and removed after the last of it is
// gone. It is how teardown (from `tsrun delete` or `tsrun net gc`) finds the
// plugin path and which process the attachment belongs to, and how GC tells
// the hook's attachments from anybody else's.

export const RECORD_DIR = 'tsrun-hook';

export interface HookRecord {
  containerId: string;
  /** the netns handle (/run/netns/<id>) */
  netns: string;
  cniPath: string[];
  /** the container's init, with its start time (pids are reused) */
  pid: number;
  startTime: string;
  /** the networks in the order they were added (teardown goes backwards) */
  networks: NetworkRef[];
  /** the container's resolv.conf and hosts live here */
  filesDir?: string;
  /** what was created in the rootfs to mount over (removed at teardown) */
  created?: MadeTargets;
}

const dirOf = (cacheDir: string): string => join(cacheDir, RECORD_DIR);
export const recordFile = (cacheDir: string, id: string): string => join(dirOf(cacheDir), `${checkId(id)}.json`);

/** The hook's own directory for a container's resolv.conf and hosts (under runc or crun). */
export const hookFilesDir = (cacheDir: string, id: string): string => join(dirOf(cacheDir), checkId(id));

export function writeRecord(cacheDir: string, r: HookRecord): void {
  const file = recordFile(cacheDir, r.containerId);
  mkdirSync(dirOf(cacheDir), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(r), { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function readRecord(cacheDir: string, id: string): HookRecord | undefined {
  const file = recordFile(cacheDir, id);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Partial<HookRecord>;
    if (typeof j.containerId !== 'string' || typeof j.netns !== 'string') return undefined;
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    return {
      containerId: j.containerId,
      netns: j.netns,
      cniPath: strings(j.cniPath),
      pid: Number(j.pid) || 0,
      startTime: String(j.startTime ?? ''),
      networks: Array.isArray(j.networks) ? j.networks.filter((n) => typeof n?.name === 'string' && typeof n?.ifName === 'string') : [],
      filesDir: typeof j.filesDir === 'string' ? j.filesDir : undefined,
      created: madeTargetsOf(j.created),
    };
  } catch {
    return undefined;
  }
}

export function removeRecord(cacheDir: string, id: string): void {
  rmSync(recordFile(cacheDir, id), { force: true });
}

/** Container ids with a record, sorted. */
export function recordedIds(cacheDir: string): string[] {
  try {
    return readdirSync(dirOf(cacheDir))
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => n.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
}
