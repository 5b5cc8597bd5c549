import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { TsrunError } from '../../errors.js';
import { errnoCode } from '../../spec/fs-error.js';
import { errnoOf as doorErrno, type Syscalls } from '../../sys/syscalls.js';
import { AT, AT_FDCWD, O } from '../../sys/constants.js';
import { because } from '../../explain/events.js';
import { child } from '../../common/paths.js';

// Control-file I/O. One write() per value, as the kernel parses each write on its own.
// What changes a cgroup (mkdir, write, rmdir) goes through the Syscalls door, so
// --explain and the recording fake see it; reads that only inspect stay plain node:fs.

/** The errno name of a failed door call or node:fs call. */
export const errnoOf = (err: unknown): string | undefined => doorErrno(err) ?? errnoCode(err);

/** One control-file write planned from linux.resources. */
export interface CgroupWrite {
  /** hierarchy key: a v1 controller, "" on pure v2, "unified" for the cgroup2 dir on hybrid */
  controller: string;
  file: string;
  value: string;
  /** where the value came from in config.json */
  jsonPath: string;
  /** written instead when `file` does not exist (io.bfq.weight → io.weight, with its own value) */
  fallback?: { file: string; value: string };
  /** implied by another field rather than asked for: skipped when the file does not exist */
  optional?: boolean;
}

/** A resource tsrun knowingly leaves unapplied; the runtime turns these into warnings. */
export interface Skipped {
  jsonPath: string;
  reason: string;
}

export interface CgroupPlan {
  writes: CgroupWrite[];
  skipped: Skipped[];
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep (the runtime's init side must not start the threadpool). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Writes `value` to `dir`/`file`: open, one write, close (as `echo value > file`). */
export function writeControl(sys: Syscalls, dir: string, file: string, value: string, jsonPath?: string): void {
  const path = child(dir, file);
  let fd: number | undefined;
  try {
    fd = sys.openat(AT_FDCWD, path, O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC, 0o666);
    sys.write(fd, value);
  } catch (err) {
    const errno = errnoOf(err) ?? 'EIO';
    const prefix = jsonPath ? `${jsonPath}: ` : '';
    throw new TsrunError('SYSCALL', `${prefix}write ${value} to ${path}: ${errno}`, {
      file: path,
      jsonPath,
      errno,
      cause: err,
    });
  } finally {
    if (fd !== undefined) sys.close(fd);
  }
}

/** Applies one planned write in `dir`, using its fallback when the first file is missing. */
export function applyWrite(sys: Syscalls, dir: string, w: CgroupWrite): void {
  because(w.jsonPath, () => {
    if ((w.fallback || w.optional) && !existsSync(child(dir, w.file))) {
      if (w.fallback) writeControl(sys, dir, w.fallback.file, w.fallback.value, w.jsonPath);
      return;
    }
    writeControl(sys, dir, w.file, w.value, w.jsonPath);
  });
}

export function readControl(dir: string, file: string): string {
  const path = child(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    const errno = errnoCode(err) ?? 'EIO';
    throw new TsrunError('SYSCALL', `read ${path}: ${errno}`, { file: path, errno, cause: err });
  }
}

/** A control file's value, or undefined when the file (or the cgroup) is missing. */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return readFileSync(child(dir, file), 'utf8').trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENODEV') return undefined;
    throw err;
  }
}

/** pids listed in `dir`/cgroup.procs and in every cgroup below it; missing dir → []. */
export function procsRecursive(dir: string): number[] {
  const out: number[] = [];
  const text = readOptional(dir, 'cgroup.procs');
  if (text === undefined) return out;
  for (const line of text.split('\n')) if (line !== '') out.push(Number(line));
  for (const sub of subdirs(dir)) out.push(...procsRecursive(child(dir, sub)));
  return out;
}

/** Which hierarchy cgroupPids() reads: any one lists the same processes. */
const PIDS_FROM = ['', 'pids', 'freezer', 'memory', 'cpu', 'devices', 'unified'];

/** Every process in the cgroup saved as `paths` (state.json), sub-cgroups included, sorted. */
export function cgroupPids(paths: Record<string, string>): number[] {
  const key = PIDS_FROM.find((k) => paths[k] !== undefined) ?? Object.keys(paths).sort()[0];
  if (key === undefined) return [];
  return [...new Set(procsRecursive(paths[key]!))].sort((a, b) => a - b);
}

export function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** rmdir `dir` and the cgroups below it, deepest first; a missing dir is fine. */
export function removeCgroupTree(sys: Syscalls, dir: string): void {
  for (const sub of subdirs(dir)) removeCgroupTree(sys, child(dir, sub));
  try {
    rmdirCgroup(sys, dir);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT') return;
    throw new TsrunError('SYSCALL', `rmdir ${dir}: ${errno ?? 'EIO'}`, { file: dir, errno, cause: err });
  }
}

/** rmdir(2) of a cgroup directory (its control files go with it). */
export function rmdirCgroup(sys: Syscalls, dir: string): void {
  sys.unlinkat(AT_FDCWD, dir, AT.REMOVEDIR);
}
