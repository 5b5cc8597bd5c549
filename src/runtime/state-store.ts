import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { checkId } from '../common/ids.js';
import type { Syscalls } from '../sys/syscalls.js';
import { O } from '../sys/constants.js';

// <root>/<id>/state.json, exec.fifo and a lock file. state.json is replaced
// atomically (temp file + rename), never truncated in place.

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  /** host pid of the init; 0 until it is spawned */
  pid: number;
  /** /proc/<pid>/stat start time, to catch pid reuse */
  initStartTime: string;
  /** "creating" until create finished */
  stage: 'creating' | 'created';
  creatorPid: number;
  creatorStartTime: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** the validated config, kept so delete does not depend on the bundle */
  spec: Spec;
  cgroupPaths?: Record<string, string>;
}

export const containerDir = (root: string, id: string): string => join(root, checkId(id));
export const fifoPath = (root: string, id: string): string => join(containerDir(root, id), 'exec.fifo');

/**
 * Atomic write used for state and pid files: readers see the old file or the
 * new one, never a torn one. No fsync: both describe live processes, which a
 * crash takes with them, and on a disk-backed root it cost ms per write.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** Makes <root>/<id>; a second create of the same id fails here, atomically. */
export function makeContainerDir(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TsrunError('EXISTS', `container with given ID already exists: "${id}"`, { hint: `tsrun delete ${id}` });
    }
    throw err;
  }
  return dir;
}

export function saveRecord(root: string, rec: ContainerRecord): void {
  writeFileAtomic(join(containerDir(root, rec.id), 'state.json'), JSON.stringify(rec));
}

export function loadRecord(root: string, id: string): ContainerRecord {
  const file = join(containerDir(root, id), 'state.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TsrunError('NOT_FOUND', `container "${id}" does not exist`, { hint: 'tsrun list shows the containers' });
    }
    throw err;
  }
  try {
    return JSON.parse(text) as ContainerRecord;
  } catch {
    throw new TsrunError('SPEC_INVALID', `${file}: state file is corrupt`, { file, hint: `tsrun delete --force ${id}` });
  }
}

export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

export function removeContainerDir(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
}

/** Runs `fn` holding an exclusive flock on the container's lock file. */
export async function withLock<T>(sys: Syscalls, root: string, id: string, fn: () => Promise<T>): Promise<T> {
  let fd: number;
  try {
    fd = sys.open(join(containerDir(root, id), '.lock'), O.RDWR | O.CREAT | O.CLOEXEC, 0o600);
  } catch (err) {
    if ((err as { errno?: string }).errno === 'ENOENT') throw new TsrunError('NOT_FOUND', `container "${id}" does not exist`);
    throw err;
  }
  try {
    sys.flock(fd, 2);
    return await fn();
  } finally {
    sys.close(fd);
  }
}
