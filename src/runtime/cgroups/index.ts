import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TeardownError, TsrunError } from '../../errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { because } from '../../explain/events.js';
import { createCgroup, fillCpuset } from './create.js';
import type { CgroupPlan, Skipped } from './files.js';
import { cgroupPids, errnoOf, procsRecursive, removeCgroupTree, rmdirCgroup, sleepSync, writeControl } from './files.js';
import { freeze, freezerOf, isFrozen, thaw } from './freezer.js';
import { type CgroupMode, detectLayout } from './layout.js';
import { DEFAULT_PARENT, hierarchyPaths, resolveCgroupPath } from './paths.js';
import { type CgroupStats, readStats } from './stats.js';
import { v1Plan } from './v1.js';
import { v2Plan } from './v2.js';
import { child } from '../../common/paths.js';

// The cgroupfs driver: one cgroup directory per hierarchy. What changes it (mkdir,
// control-file writes, rmdir) goes through the Syscalls door; reads stay plain file I/O.
// state.json keeps `paths`; cgroupManagerFromPaths re-opens them for pause/kill/delete.

export type { CgroupWrite, CgroupPlan, Skipped } from './files.js';
export type { CgroupLayout, CgroupMode } from './layout.js';
export type { CgroupStats } from './stats.js';
export { detectLayout, parseMountinfo, probeLayout } from './layout.js';
export { DEFAULT_PARENT, hierarchyPaths, resolveCgroupPath } from './paths.js';
export { v1Plan } from './v1.js';
export { subCgroupPaths } from './sub.js';
export { oomKills, runcStats, toJson, type RuncStats } from './runc-stats.js';
export { applyUpdate, completeUpdate, modeOf, updatePlan } from './update.js';
export { cpuSharesToWeight, swapMax, v2Plan } from './v2.js';

export interface CgroupManager {
  /** paths by controller name ("memory", "pids", …, "unified" for the cgroup2 dir; "" on pure v2) */
  readonly paths: Record<string, string>;
  /** resources create() left unapplied on purpose (e.g. devices on v2): the runtime should warn */
  readonly skipped: Skipped[];
  create(resources: LinuxResources | undefined): void;
  join(pid: number): void;
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): void;
  isFrozen(): boolean;
  destroy(): Promise<void>;
  stats(): CgroupStats;
}

/** The writes create() does for `resources` on a host of this mode. */
export function cgroupPlan(mode: CgroupMode, resources: LinuxResources | undefined): CgroupPlan {
  return mode === 'v2' ? v2Plan(resources) : v1Plan(resources);
}

const KILL_TIMEOUT_MS = 5000;

class CgroupfsManager implements CgroupManager {
  skipped: Skipped[] = [];

  constructor(
    private readonly sys: Syscalls,
    readonly paths: Record<string, string>,
    private readonly v2Mount?: string,
  ) {}

  private get mode(): CgroupMode {
    if (this.paths[''] !== undefined) return 'v2';
    return this.paths.unified !== undefined ? 'hybrid' : 'v1';
  }

  /** Each directory once (co-mounted controllers share one), in a stable order. */
  private dirs(): string[] {
    return [...new Set(Object.keys(this.paths).sort().map((k) => this.paths[k]))];
  }

  create(resources: LinuxResources | undefined): void {
    const plan = cgroupPlan(this.mode, resources);
    createCgroup({ sys: this.sys, paths: this.paths, v2Mount: this.v2Mount, plan });
    this.skipped = plan.skipped;
  }

  join(pid: number): void {
    // A sub-cgroup made by hand (exec --cgroup) starts with an empty cpuset, which no task may join.
    if (this.paths.cpuset !== undefined) fillCpuset(this.sys, this.paths.cpuset);
    for (const dir of this.dirs()) {
      // EINVAL can mean the task is still being born (TASK_NEW): try again briefly.
      for (let attempt = 1; ; attempt++) {
        try {
          because(`the process ${pid} joins the container's cgroup`, () => writeControl(this.sys, dir, 'cgroup.procs', String(pid)));
          break;
        } catch (err) {
          if (err instanceof TsrunError && err.errno === 'EINVAL' && attempt < 5) {
            sleepSync(30);
            continue;
          }
          if (err instanceof TsrunError && err.errno === 'ENOENT') {
            throw new TsrunError('SYSCALL', err.message, { file: err.file, errno: err.errno, cause: err, hint: 'the cgroup does not exist: create() it first' });
          }
          throw err;
        }
      }
    }
  }

  pids(): number[] {
    return cgroupPids(this.paths);
  }

  private freezer() {
    const f = freezerOf(this.paths);
    if (!f) throw new TsrunError('NOT_SUPPORTED', 'this host has no cgroup freezer (neither the v1 freezer controller nor cgroup2)');
    return f;
  }

  freeze(): Promise<void> {
    return freeze(this.sys, this.freezer());
  }

  thaw(): void {
    thaw(this.sys, this.freezer());
  }

  isFrozen(): boolean {
    const f = freezerOf(this.paths);
    return f !== undefined && isFrozen(f);
  }

  /** Every process in the cgroup, in any hierarchy and any sub-cgroup. */
  private allPids(): number[] {
    const all = new Set<number>();
    for (const dir of this.dirs()) for (const pid of procsRecursive(dir)) if (pid > 0) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  private async killAll(): Promise<void> {
    const v2 = this.paths[''];
    // cgroup.kill (Linux 5.14+, write-only) kills the whole subtree at once, forks included.
    if (v2 !== undefined && existsSync(child(v2, 'cgroup.kill'))) because('every process of the cgroup killed at once', () => writeControl(this.sys, v2, 'cgroup.kill', '1'));
    const deadline = Date.now() + KILL_TIMEOUT_MS;
    for (;;) {
      const pids = this.allPids();
      if (pids.length === 0) return;
      if (pids.includes(process.pid)) {
        throw new TsrunError('BAD_STATE', `the cgroup holds tsrun's own process ${process.pid}; not killing it`);
      }
      if (Date.now() > deadline) {
        throw new TsrunError('SYSCALL', `processes ${pids.join(', ')} still in the cgroup ${KILL_TIMEOUT_MS} ms after SIGKILL`, {
          errno: 'EBUSY',
          hint: 'a process stuck in the kernel (D state) cannot die; or its parent has not reaped it yet',
        });
      }
      for (const pid of pids) {
        try {
          because('a process left in the cgroup', () => this.sys.kill(pid, 9));
        } catch (err) {
          if (errnoOf(err) !== 'ESRCH') throw err;
        }
      }
      // Async on purpose: the caller's event loop must run to reap its own children.
      await delay(10);
    }
  }

  async destroy(): Promise<void> {
    const errors: unknown[] = [];
    try {
      // Frozen tasks cannot act on SIGKILL: thaw first.
      if (this.isFrozen()) this.thaw();
    } catch (err) {
      errors.push(err);
    }
    try {
      await this.killAll();
    } catch (err) {
      errors.push(err);
    }
    const deepestFirst = this.dirs().sort((a, b) => b.split('/').length - a.split('/').length);
    because('the container\'s cgroup removed, sub-cgroups first', () => {
      for (const dir of deepestFirst) {
        try {
          removeCgroupTree(this.sys, dir);
        } catch (err) {
          errors.push(err);
        }
      }
    });
    // Under tsrun's own parent (/tsrun), the cgroups between it and the leaf (a relative cgroupsPath such as
    // a/b/c) and the parent itself go with their last container; one still in use stops the walk (ENOTEMPTY/EBUSY).
    // Parents outside /tsrun are the caller's: never removed.
    because('tsrun\'s own parent cgroups go with their last container', () => {
      for (const dir of deepestFirst) {
        const top = ownParentOf(dir);
        if (!top) continue;
        for (let parent = dirname(dir); parent.length >= top.length; parent = dirname(parent)) {
          try {
            rmdirCgroup(this.sys, parent);
          } catch {
            break; // still in use, or already gone
          }
        }
      }
    });
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new TeardownError('destroy cgroup', errors);
  }

  stats(): CgroupStats {
    return readStats(this.paths);
  }
}

/**
 * A manager for container `id`'s cgroup (see paths.ts for linux.cgroupsPath rules).
 * `root` is where the hierarchies are mounted; a directory that holds no cgroup mount
 * (a fake tree in tests) is read by its layout instead.
 */
export function cgroupManager(sys: Syscalls, opts: { id: string; cgroupsPath?: string; root?: string }): CgroupManager {
  const root = opts.root ?? '/sys/fs/cgroup';
  const cgroupPath = resolveCgroupPath(opts.id, opts.cgroupsPath);
  const layout = detectLayout(root);
  if (!layout) {
    throw new TsrunError('NOT_SUPPORTED', `no cgroup hierarchy found at ${root}`, {
      file: root,
      hint: 'mount cgroup2 at /sys/fs/cgroup (or the v1 controllers under it)',
    });
  }
  return new CgroupfsManager(sys, hierarchyPaths(layout, cgroupPath), layout.mode === 'v2' ? layout.hierarchies[''] : undefined);
}

/** The /tsrun directory above `dir` in its hierarchy, when `dir` lies under one. */
function ownParentOf(dir: string): string | undefined {
  const name = `/${basename(DEFAULT_PARENT)}/`;
  const at = dir.indexOf(name);
  return at < 0 ? undefined : dir.slice(0, at + name.length - 1);
}

/** Re-opens a cgroup from the `paths` saved in state.json. */
export function cgroupManagerFromPaths(sys: Syscalls, paths: Record<string, string>): CgroupManager {
  return new CgroupfsManager(sys, { ...paths });
}
