import { existsSync } from 'node:fs';
import { fifoPath, loadRecord, type ContainerRecord } from '../state-store.js';
import { deriveStatus, type Status } from '../status.js';
import { isAlive } from '../../sys/proc.js';
import type { OciState } from '../../oci-hooks/run.js';
import { nsInode, pidsInPidNamespace } from '../../sys/proc.js';
// Only the cgroup files and freezer modules: state and list load no more of cgroups/.
import { cgroupPids } from '../cgroups/files.js';
import { freezerOf, isFrozen as freezerIsFrozen } from '../cgroups/freezer.js';

// Reading a container: its record plus the status derived from live facts.

export interface Inspected {
  record: ContainerRecord;
  status: Status;
}

function isFrozen(paths: Record<string, string>): boolean {
  try {
    const f = freezerOf(paths);
    return f !== undefined && freezerIsFrozen(f);
  } catch {
    return false;
  }
}

export function statusOf(root: string, rec: ContainerRecord): Status {
  return deriveStatus({
    creating: rec.stage === 'creating',
    creatorAlive: isAlive(rec.creatorPid, rec.creatorStartTime),
    beforeInit: rec.pid === 0,
    initAlive: isAlive(rec.pid, rec.initStartTime),
    fifoExists: existsSync(fifoPath(root, rec.id)),
    frozen: rec.cgroupPaths ? isFrozen(rec.cgroupPaths) : false,
  });
}

export function inspect(root: string, id: string): Inspected {
  const record = loadRecord(root, id);
  return { record, status: statusOf(root, record) };
}

/** The runtime-spec state: what `tsrun state` prints and hooks read on stdin. */
export function ociState({ record, status }: Inspected): OciState & Record<string, unknown> {
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner,
    annotations: record.annotations,
  };
}

/** Host pids of every process in the container (its pid namespace, or just the init). */
export function containerPids({ record, status }: Inspected): number[] {
  // pid 0 is a create that has not launched the init yet: nothing to signal (kill(0) would hit the caller's own group)
  if (status === 'stopped' || record.pid <= 0) return [];
  if (record.cgroupPaths) {
    const pids = cgroupPids(record.cgroupPaths);
    if (pids.length) return pids;
  }
  const hasPidNs = record.spec.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path);
  const ns = hasPidNs ? nsInode(record.pid, 'pid') : undefined;
  return ns ? pidsInPidNamespace(ns) : [record.pid];
}
