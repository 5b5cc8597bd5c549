import { readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { TsrunError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { checkId } from '../common/ids.js';
import { errnoOf, SyscallError, type Syscalls } from '../sys/syscalls.js';
import { AT, AT_FDCWD, LOCK, O } from '../sys/constants.js';
import { because } from '../explain/events.js';
import { child } from '../common/paths.js';

// <root>/<id>/state.json, exec.fifo and a lock file. state.json is replaced
// atomically (temp file + rename), never truncated in place. What changes the
// state directory goes through the Syscalls door (so --explain shows it);
// reading state.json and listing the root stay plain node:fs.

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

export const containerDir = (root: string, id: string): string => child(root, checkId(id));
export const fifoPath = (root: string, id: string): string => child(containerDir(root, id), 'exec.fifo');

/**
 * Atomic write used for state and pid files: readers see the old file or the
 * new one, never a torn one. No fsync: both describe live processes, which a
 * crash takes with them, and on a disk-backed root it cost ms per write.
 */
export function writeFileAtomic(sys: Syscalls, path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = sys.openat(AT_FDCWD, tmp, O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC, mode);
    try {
      sys.write(fd, data);
    } finally {
      sys.close(fd);
    }
    sys.renameat(AT_FDCWD, tmp, AT_FDCWD, path);
  } catch (err) {
    try {
      sys.unlinkat(AT_FDCWD, tmp, 0);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** mkdir -p: an existing directory is fine, missing parents are made first. */
function mkdirAll(sys: Syscalls, dir: string, mode: number): void {
  try {
    sys.mkdirat(AT_FDCWD, dir, mode);
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return;
    if (errnoOf(err) !== 'ENOENT' || dirname(dir) === dir) throw err;
    mkdirAll(sys, dirname(dir), mode);
    mkdirAll(sys, dir, mode);
  }
}

/** Makes <root>/<id>; a second create of the same id fails here, atomically. */
export function makeContainerDir(sys: Syscalls, root: string, id: string): string {
  const dir = containerDir(root, id);
  because('--root: the state root, made if missing', () => mkdirAll(sys, root, 0o700));
  try {
    because('the container\'s state directory; it exists once per id, so a second create of the id fails here', () => sys.mkdirat(AT_FDCWD, dir, 0o711));
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') {
      throw new TsrunError('EXISTS', `container with given ID already exists: "${id}"`, { hint: `tsrun delete ${id}` });
    }
    throw err;
  }
  return dir;
}

export function saveRecord(sys: Syscalls, root: string, rec: ContainerRecord): void {
  because(`state.json: the container's record (${rec.stage}${rec.pid ? `, pid ${rec.pid}` : ''}), replaced atomically`, () =>
    writeFileAtomic(sys, child(containerDir(root, rec.id), 'state.json'), JSON.stringify(rec)));
}

export function loadRecord(root: string, id: string): ContainerRecord {
  const file = child(containerDir(root, id), 'state.json');
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

/** rm -rf of <root>/<id>; a missing directory is fine. */
export function removeContainerDir(sys: Syscalls, root: string, id: string): void {
  because('the container\'s state directory removed', () => removeTree(sys, containerDir(root, id)));
}

function removeTree(sys: Syscalls, dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = child(dir, e.name);
    if (e.isDirectory()) removeTree(sys, path);
    else sys.unlinkat(AT_FDCWD, path, 0);
  }
  sys.unlinkat(AT_FDCWD, dir, AT.REMOVEDIR);
}

/** Takes an exclusive flock on the container's lock file; closing the returned fd releases it. */
export function lockContainer(sys: Syscalls, root: string, id: string): number {
  let fd: number;
  try {
    fd = sys.open(child(containerDir(root, id), '.lock'), O.RDWR | O.CREAT | O.CLOEXEC, 0o600);
  } catch (err) {
    if ((err as { errno?: string }).errno === 'ENOENT') throw new TsrunError('NOT_FOUND', `container "${id}" does not exist`);
    throw err;
  }
  try {
    sys.flock(fd, LOCK.EX);
  } catch (err) {
    sys.close(fd);
    throw err;
  }
  return fd;
}

/** Runs `fn` holding an exclusive flock on the container's lock file. */
export async function withLock<T>(sys: Syscalls, root: string, id: string, fn: () => Promise<T>): Promise<T> {
  const fd = lockContainer(sys, root, id);
  try {
    return await fn();
  } finally {
    sys.close(fd);
  }
}
