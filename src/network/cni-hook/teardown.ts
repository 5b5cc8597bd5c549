import { existsSync, readdirSync, readlinkSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, errorMessage } from '../../errors.js';
import { isAlive } from '../../sys/proc.js';
import { CniClient, joinErrors } from '../cni/api.js';
import type { CacheEntry } from '../cni/cache.js';
import { confListFromBytes, confListFromConfBytes, type NetworkConfigList } from '../cni/conf.js';
import { DEFAULT_CNI_PATH } from '../cni/exec.js';
import { NetnsStore } from '../netns.js';
import { ETC_FILES, removeCreated } from './etc-mounts.js';
import type { NetworkRef } from './options.js';
import { readRecord, recordedIds, removeRecord } from './record.js';
import type { HookDeps } from './setup.js';

// The second half (poststop, `tsrun delete`, GC): DEL every cached attachment
// of the container, the last network added first (with the config cached at
// ADD, so a changed or removed conf file does not strand it), then remove what
// was made to mount resolv.conf and hosts over, the netns handle and the record. Idempotent: a second run
// finds nothing and succeeds. Errors are collected; the handle and record are
// kept while an attachment is left, so a retry (or `tsrun net gc`) can finish.

export interface TeardownOptions {
  cacheDir: string;
  /** plugin search path; else the one recorded at setup, else the default */
  cniPath?: string[];
  /**
   * only these networks' attachments (a poststop hook tears down its own), with
   * their conflists when they could be read: an attachment whose ADD never got
   * to cache a result is deleted with it
   */
  only?: { ref: NetworkRef; list?: NetworkConfigList }[];
}

/** The network config libcni cached with the result (a conflist, or a single plugin conf). */
function cachedList(entry: CacheEntry): NetworkConfigList {
  try {
    return confListFromBytes(entry.config, `cached config of ${entry.network}`);
  } catch {
    return confListFromConfBytes(entry.config, `cached config of ${entry.network}`);
  }
}

/** Removes the container's resolv.conf and hosts, and their directory when that is left empty. */
export function removeFiles(dir: string): void {
  for (const f of ETC_FILES) rmSync(join(dir, f), { force: true });
  try {
    rmdirSync(dir);
  } catch {
    // not empty (someone else's files) or gone
  }
}

export async function teardownNetwork(deps: HookDeps, containerId: string, o: TeardownOptions): Promise<{ deleted: string[] }> {
  const record = readRecord(o.cacheDir, containerId);
  const client = new CniClient({ path: o.cniPath ?? (record?.cniPath.length ? record.cniPath : DEFAULT_CNI_PATH), cacheDir: o.cacheDir, warn: deps.warn });
  const store = new NetnsStore(deps.sys, deps.netnsDir);
  const handle = store.pathOf(containerId);
  const key = (network: string, ifName: string): string => `${network}\0${ifName}`;
  const wanted = o.only ? new Set(o.only.map((n) => key(n.ref.name, n.ref.ifName))) : undefined;
  // Reverse order of setup: the last network added goes first.
  const order = (record?.networks ?? []).map((n) => key(n.name, n.ifName));
  const rank = (e: CacheEntry): number => -order.indexOf(key(e.network, e.ifName));
  const entries = client
    .cachedAttachments(containerId)
    .filter((e) => !wanted || wanted.has(key(e.network, e.ifName)))
    .sort((a, b) => rank(a) - rank(b));
  const errors: TsrunError[] = [];
  const deleted: string[] = [];
  const del = async (list: NetworkConfigList, ifName: string, netns: string): Promise<void> => {
    try {
      await client.delNetworkList(list, { containerId, ifName, netns });
      deleted.push(`${list.name}/${ifName}`);
    } catch (err) {
      errors.push(err instanceof TsrunError ? err : new TsrunError('CNI_PLUGIN', errorMessage(err), { cause: err }));
    }
  };
  for (const entry of entries) await del(cachedList(entry), entry.ifName, entry.netns ?? handle);
  // An ADD killed before it cached its result may still have made a veth or taken
  // an address: with the network known and the setup begun, DEL without a result.
  if (record || existsSync(handle)) {
    const done = new Set(entries.map((e) => key(e.network, e.ifName)));
    for (const n of [...(o.only ?? [])].reverse()) {
      if (n.list && !done.has(key(n.ref.name, n.ref.ifName))) await del(n.list, n.ref.ifName, handle);
    }
  }

  if (client.cachedAttachments(containerId).length === 0) {
    try {
      if (record) removeCreated(deps.sys, record.created, deps.warn);
      if (record?.filesDir) removeFiles(record.filesDir);
      store.delete(containerId, { missingOk: true });
      removeRecord(o.cacheDir, containerId);
    } catch (err) {
      errors.push(new TsrunError('SYSCALL', `remove netns handle ${handle}: ${errorMessage(err)}`, { cause: err }));
    }
  }
  if (errors.length) throw joinErrors(errors);
  return { deleted };
}

/** Is any process still inside the namespace pinned at `handle`? */
export function netnsInUse(handle: string): boolean {
  let link: string;
  try {
    link = `net:[${statSync(handle).ino}]`;
  } catch {
    return false;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/net`) === link) return true;
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return false;
}

export interface SweepReport {
  /** containers whose network was torn down */
  swept: string[];
}

/**
 * GC for the hook's attachments: a container is gone when its init has exited
 * and no process is left in its netns (runtime-neutral: works for runc too).
 * Its network is torn down; live ones are left alone. Errors are collected.
 */
export async function sweepGone(deps: HookDeps, cacheDir: string, cniPath?: string[]): Promise<SweepReport> {
  const report: SweepReport = { swept: [] };
  const errors: TsrunError[] = [];
  for (const id of recordedIds(cacheDir)) {
    const rec = readRecord(cacheDir, id);
    if (!rec) continue;
    if (isAlive(rec.pid, rec.startTime || undefined) || netnsInUse(rec.netns)) continue;
    try {
      await teardownNetwork(deps, id, { cacheDir, cniPath });
      report.swept.push(id);
    } catch (err) {
      errors.push(new TsrunError('CNI_PLUGIN', `gc of container "${id}": ${errorMessage(err)}`, { cause: err }));
    }
  }
  if (errors.length) throw joinErrors(errors);
  return report;
}
