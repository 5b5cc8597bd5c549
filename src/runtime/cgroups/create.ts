import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TsrunError, errorMessage } from '../../errors.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { AT_FDCWD } from '../../sys/constants.js';
import { because } from '../../explain/events.js';
import type { CgroupPlan } from './files.js';
import { applyWrite, errnoOf, readOptional, rmdirCgroup, writeControl } from './files.js';
import { freezerOf, isFrozen } from './freezer.js';
import { child } from '../../common/paths.js';

// Making a cgroup: mkdir in every hierarchy, the v1 cpuset and v2 controller
// preparations, then the planned writes. Whatever this made is removed again
// (deepest first) when a later step fails, so a failed create leaks no directory.

/**
 * mkdir -p, returning the directories it made, outermost first. A parent that
 * vanishes meanwhile (a concurrent delete removing the empty /tsrun parent) is
 * made again.
 */
function mkdirs(sys: Syscalls, dir: string, made: string[], tries = 3): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of missing) {
    try {
      sys.mkdirat(AT_FDCWD, d, 0o755);
      made.push(d);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') continue;
      if (errnoOf(err) === 'ENOENT' && tries > 1) return mkdirs(sys, dir, made, tries - 1);
      const errno = errnoOf(err) ?? 'EIO';
      throw new TsrunError('SYSCALL', `mkdir ${d}: ${errno}`, { file: d, errno, cause: err });
    }
  }
}

/**
 * The classic v1 trap: a new cpuset cgroup starts with empty cpuset.cpus and
 * cpuset.mems, and no task can join it until both are set. Copy each value down
 * from the nearest ancestor that has one, top-down, to every empty level.
 */
export function fillCpuset(sys: Syscalls, dir: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const empty: string[] = [];
    let d = dir;
    let value = readOptional(d, file);
    while (value === '') {
      empty.unshift(d);
      d = dirname(d);
      value = readOptional(d, file);
    }
    if (value === undefined) continue; // no cpuset files here (fake root or not cpuset)
    for (const e of empty) because(`cgroup v1: a new cpuset cgroup has an empty ${file}, and no task can join it until it is set: the parent's copied down`, () => writeControl(sys, e, file, value));
  }
}

/**
 * v2: a controller's files only appear in a cgroup when every ancestor lists it in
 * cgroup.subtree_control. Enable all available controllers from the mount down to the
 * leaf's parent; when enabling all at once fails (a controller may refuse, e.g. cpu
 * with real-time tasks), try one by one and leave the refusers out: their files will be
 * missing and the write that needs them fails with its own clear error.
 */
export function enableControllers(sys: Syscalls, mount: string, leaf: string): void {
  const chain: string[] = [];
  for (let d = dirname(leaf); d.length >= mount.length && d.startsWith(mount); d = dirname(d)) {
    chain.unshift(d);
    if (d === mount || d === dirname(d)) break;
  }
  for (const d of chain) {
    const available = (readOptional(d, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
    const enabled = new Set((readOptional(d, 'cgroup.subtree_control') ?? '').split(/\s+/).filter(Boolean));
    const wanted = available.filter((c) => !enabled.has(c));
    if (wanted.length === 0) continue;
    because('cgroup v2: a controller\'s files appear only where every ancestor enables it in cgroup.subtree_control', () => {
      try {
        writeControl(sys, d, 'cgroup.subtree_control', wanted.map((c) => `+${c}`).join(' '));
      } catch {
        for (const c of wanted) {
          try {
            writeControl(sys, d, 'cgroup.subtree_control', `+${c}`);
          } catch {
            // left out on purpose, see above
          }
        }
      }
    });
  }
}

/**
 * A cgroup that already exists and is frozen would freeze the init the moment it
 * joins, and create would wait for it forever: refuse it, as runc does.
 */
function refuseFrozen(paths: Record<string, string>): void {
  const f = freezerOf(paths);
  if (!f || !isFrozen(f)) return;
  const file = child(f.dir, f.kind === 'v1' ? 'freezer.state' : 'cgroup.freeze');
  throw new TsrunError('BAD_STATE', `container's cgroup unexpectedly frozen (${file})`, {
    file,
    jsonPath: 'linux.cgroupsPath',
    hint: `thaw it first (echo ${f.kind === 'v1' ? 'THAWED' : '0'} > ${file}), or give the container another linux.cgroupsPath`,
  });
}

export interface CreateInput {
  sys: Syscalls;
  paths: Record<string, string>;
  /** v2 mount point, to enable controllers from; undefined on v1 and hybrid */
  v2Mount?: string;
  plan: CgroupPlan;
}

export function createCgroup({ sys, paths, v2Mount, plan }: CreateInput): void {
  for (const w of plan.writes) {
    if (paths[w.controller] === undefined) {
      const what = w.controller === 'unified' || w.controller === '' ? 'a cgroup2 hierarchy' : `the ${w.controller} cgroup controller mounted`;
      throw new TsrunError('NOT_SUPPORTED', `${w.jsonPath}: this host does not have ${what}`, { jsonPath: w.jsonPath });
    }
  }
  const made: string[] = [];
  try {
    because('linux.cgroupsPath: the container\'s cgroup, in every hierarchy (with any missing parent)', () => {
      for (const dir of new Set(Object.values(paths))) mkdirs(sys, dir, made);
    });
    refuseFrozen(paths);
    if (paths.cpuset !== undefined) fillCpuset(sys, paths.cpuset);
    if (v2Mount !== undefined && paths[''] !== undefined) enableControllers(sys, v2Mount, paths['']);
    for (const w of plan.writes) {
      const dir = paths[w.controller];
      const file = w.controller === 'unified' ? child(dir, w.file) : undefined;
      if (file !== undefined && !existsSync(file)) {
        throw new TsrunError('SPEC_INVALID', `${w.jsonPath}: ${file} does not exist`, {
          file,
          jsonPath: w.jsonPath,
          hint: 'this host is hybrid: its cgroup2 hierarchy has no controllers enabled, so only core cgroup.* files exist there; use the typed linux.resources fields instead',
        });
      }
      applyWrite(sys, dir, w);
    }
  } catch (err) {
    const leftovers: string[] = [];
    because('create failed: the cgroups it made are removed again', () => {
      for (const d of made.slice().reverse()) {
        try {
          rmdirCgroup(sys, d);
        } catch (rmErr) {
          leftovers.push(`${d} (${errnoOf(rmErr) ?? errorMessage(rmErr)})`);
        }
      }
    });
    if (leftovers.length > 0 && err instanceof TsrunError) {
      throw new TsrunError(err.code, `${err.message}; and could not remove ${leftovers.join(', ')}`, {
        file: err.file,
        jsonPath: err.jsonPath,
        hint: err.hint,
        errno: err.errno,
        cause: err,
      });
    }
    throw err;
  }
}
