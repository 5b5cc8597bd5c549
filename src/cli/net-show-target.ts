import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { inspect } from '../runtime/container/inspect.js';
import { nsInode } from '../sys/proc.js';
import { containerDir, listIds, loadRecord, type ContainerRecord } from '../runtime/state-store.js';
import { DEFAULT_CACHE_DIR, ResultCache } from '../network/cni/cache.js';
import { networkHooksOf, readNetworkNote } from '../network/container-net.js';
import { readRecord } from '../network/cni-hook/record.js';
import { NETNS_DIR } from '../network/netns.js';
import type { ShowTarget } from '../network/show/collect.js';

// Which namespace and which cache entries `net show` reads: for a tsrun
// container, from its state (status, pid, the network hooks in its spec);
// for a bare netns handle, the cache entries whose netns is that namespace.

export interface NetworkRef {
  network: string;
  ifName: string;
  cacheDir: string;
}

/**
 * The CNI networks a tsrun container was given and the cache dirs holding
 * their results: those `run --net` attached in-process (the note in its state
 * dir names the cache, whose hook record lists the networks in order), and
 * those of `tsrun hook cni` hooks a config carries itself.
 */
export function networksOf(record: ContainerRecord, stateDir: string): NetworkRef[] {
  const out: NetworkRef[] = [];
  const cacheDir = readNetworkNote(stateDir)?.cacheDir;
  if (cacheDir) for (const n of readRecord(cacheDir, record.id)?.networks ?? []) out.push({ network: n.name, ifName: n.ifName, cacheDir });
  for (const h of networkHooksOf(record.spec)) for (const n of h.networks) out.push({ network: n.name, ifName: n.ifName, cacheDir: h.cacheDir });
  return out;
}

type Entries = ShowTarget['entries'];

function entriesIn(dirs: string[], keep: (e: Entries[number]['entry']) => boolean, containerId?: string): { entries: Entries; problems: string[] } {
  const out: Entries = [];
  const problems: string[] = [];
  for (const dir of [...new Set(dirs)]) {
    const cache = new ResultCache(dir);
    const { entries, corrupt } = cache.list(containerId);
    for (const e of entries) if (keep(e)) out.push({ entry: e, file: cache.fileFor(e) });
    for (const c of corrupt) problems.push(`${c.file}: ${c.reason}`);
  }
  return { entries: out, problems };
}

const LIVE = new Set(['creating', 'created', 'running', 'paused']);

export function containerTarget(root: string, id: string, extraCacheDirs: string[]): ShowTarget {
  const { record, status } = inspect(root, id);
  const live = LIVE.has(status) && record.pid > 0; // a create that has not launched its init yet has no namespaces to read
  const target: ShowTarget = {
    container: { id, status, ...(live ? { pid: record.pid } : {}) },
    mode: 'none',
    entries: [],
    dns: { stateDir: join(containerDir(root, id), 'net'), rootfs: record.rootfs, ...(live ? { pid: record.pid } : {}) },
    problems: [],
  };
  const netNs = record.spec.linux?.namespaces?.find((n) => n.type === 'network');
  if (!netNs) return { ...target, mode: 'host' };
  if (netNs.path) {
    if (!existsSync(netNs.path)) target.problems!.push(`the network namespace it joined (${netNs.path}) is gone`);
    const joined: ShowTarget = { ...target, mode: 'joined', netnsPath: live && existsSync(netNs.path) ? netNs.path : undefined };
    const owner = live ? ownerOf(root, id, netNs.path) : undefined;
    if (owner) {
      // --net container:ID: the attachments are the other container's.
      const dirs = [...networksOf(owner, containerDir(root, owner.id)).map((r) => r.cacheDir), ...extraCacheDirs];
      const { entries, problems } = entriesIn(dirs, () => true, owner.id);
      joined.entries = entries;
      joined.problems!.push(...problems);
      joined.notes = [`it shares the network namespace of container ${owner.id}`];
    }
    return joined;
  }
  const refs = networksOf(record, containerDir(root, id));
  const dirs = [...refs.map((r) => r.cacheDir), ...extraCacheDirs];
  if (!dirs.length && existsSync(DEFAULT_CACHE_DIR)) dirs.push(DEFAULT_CACHE_DIR);
  const { entries: found, problems } = entriesIn(dirs, () => true, id);
  target.entries = found;
  target.problems!.push(...problems);
  for (const r of refs) {
    if (!found.some((f) => f.entry.network === r.network && f.entry.ifName === r.ifName)) {
      target.problems!.push(`network ${r.network} (${r.ifName}) has no cache entry in ${join(r.cacheDir, 'results')}`);
    }
  }
  const handle = join(NETNS_DIR, id);
  if (existsSync(handle)) target.handle = handle;
  if (!live) {
    // A stopped container keeps its network until delete: the handle pins the namespace.
    if (target.handle && (refs.length || found.length)) {
      target.notes = [`the container is ${status}: its network namespace lives on at ${target.handle} until tsrun delete`];
      return { ...target, mode: 'cni', netnsPath: target.handle };
    }
    target.mode = 'gone';
    target.problems!.push(`the container is ${status}: it has no network namespace to read`);
    if (found.length) target.problems!.push('its CNI cache entries are left over: tsrun delete (or tsrun net gc) removes them');
    return target;
  }
  target.netnsPath = `/proc/${record.pid}/ns/net`;
  target.mode = refs.length || found.length ? 'cni' : 'none';
  return target;
}

/** The other container of this root whose init lives in the namespace at `path`. */
function ownerOf(root: string, self: string, path: string): ContainerRecord | undefined {
  const link = nsLinkOf(path);
  for (const other of listIds(root)) {
    if (other === self) continue;
    try {
      const rec = loadRecord(root, other);
      if (link && rec.pid > 0 && nsInode(rec.pid, 'net') === link) return rec;
    } catch {
      // a container being deleted meanwhile
    }
  }
  return undefined;
}

/** "net:[4026532]" of a namespace file, the form /proc/PID/ns/net links to. */
function nsLinkOf(path: string): string | undefined {
  try {
    return `net:[${statSync(path).ino}]`;
  } catch {
    return undefined;
  }
}

/** A process living in the namespace (its files show the container's DNS); the lowest pid. */
function pidIn(link: string): number | undefined {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b))) {
    if (nsInode(Number(name), 'net') === link) return Number(name);
  }
  return undefined;
}

export function netnsTarget(path: string, cacheDirs: string[]): ShowTarget {
  const link = nsLinkOf(path);
  if (!link) throw new TsrunError('NOT_FOUND', `network namespace ${path} does not exist`, { hint: 'give a handle such as /run/netns/NAME or /proc/PID/ns/net' });
  const dirs = cacheDirs.length ? cacheDirs : [DEFAULT_CACHE_DIR];
  const { entries: found, problems } = entriesIn(dirs, (e) => !!e.netns && nsLinkOf(e.netns) === link);
  const pid = pidIn(link);
  return {
    mode: found.length ? 'cni' : 'none',
    netnsPath: path,
    entries: found,
    dns: pid ? { pid } : {},
    problems,
  };
}
