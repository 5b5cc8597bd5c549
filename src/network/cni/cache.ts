import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../../errors.js';

// The result cache, in libcni's layout and JSON so other CNI tools read it:
// <cacheDir>/results/<network>-<containerId>-<ifName>, kind "cniCacheV1",
// "config" is the base64 of the network config bytes (Go's []byte encoding).
// Unlike libcni (a plain WriteFile), entries are written by temp + rename.

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

export interface CacheKey {
  network: string;
  containerId: string;
  ifName: string;
}

export interface CacheEntry extends CacheKey {
  config: Buffer;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The result as the plugins returned it (not yet parsed or converted). */
  result?: Record<string, unknown>;
}

/** An entry that could not be used: reported and skipped, never fatal. */
export interface CorruptEntry {
  file: string;
  reason: string;
}

export type ReadOutcome = { entry: CacheEntry } | { corrupt: CorruptEntry } | { missing: true };

export class ResultCache {
  constructor(readonly dir: string = DEFAULT_CACHE_DIR) {}

  private get resultsDir(): string {
    return join(this.dir, 'results');
  }

  fileFor(k: CacheKey): string {
    if (!k.network || !k.containerId || !k.ifName) {
      throw new TsrunError('BAD_INPUT', `cache file path requires network name ("${k.network}"), container ID ("${k.containerId}"), and interface name ("${k.ifName}")`);
    }
    return join(this.resultsDir, `${k.network}-${k.containerId}-${k.ifName}`);
  }

  write(e: CacheEntry): void {
    // Key order and omitempty follow libcni's cachedInfo struct.
    const json: Record<string, unknown> = {
      kind: CACHE_KIND,
      containerId: e.containerId,
      config: e.config.toString('base64'),
      ifName: e.ifName,
      networkName: e.network,
    };
    if (e.netns) json.netns = e.netns;
    if (e.cniArgs?.length) json.cniArgs = e.cniArgs;
    if (e.capabilityArgs && Object.keys(e.capabilityArgs).length) json.capabilityArgs = e.capabilityArgs;
    if (e.result) json.result = e.result;
    const file = this.fileFor(e);
    mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.resultsDir, `.${e.network}-${e.containerId}-${e.ifName}.tmp-${process.pid}`);
    try {
      writeFileSync(tmp, JSON.stringify(json), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new TsrunError('INTERNAL', `write CNI cache ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  read(k: CacheKey): ReadOutcome {
    const file = this.fileFor(k);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
      return { corrupt: { file, reason: (err as Error).message } };
    }
    return decodeEntry(text, file);
  }

  remove(k: CacheKey): void {
    rmSync(this.fileFor(k), { force: true });
  }

  /** Every entry, sorted by file name; `containerId` filters like libcni's GetCachedAttachments. */
  list(containerId?: string): { entries: CacheEntry[]; corrupt: CorruptEntry[] } {
    let names: string[];
    try {
      names = readdirSync(this.resultsDir).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return { entries: [], corrupt: [] };
    }
    const entries: CacheEntry[] = [];
    const corrupt: CorruptEntry[] = [];
    for (const name of names) {
      if (containerId && !name.includes(`-${containerId}-`)) continue;
      const file = join(this.resultsDir, name);
      let out: ReadOutcome;
      try {
        out = decodeEntry(readFileSync(file, 'utf8'), file);
      } catch (err) {
        out = { corrupt: { file, reason: (err as Error).message } };
      }
      if ('corrupt' in out) corrupt.push(out.corrupt);
      else if ('entry' in out && (!containerId || out.entry.containerId === containerId)) entries.push(out.entry);
    }
    return { entries, corrupt };
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function decodeEntry(text: string, file: string): ReadOutcome {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    return { corrupt: { file, reason: `invalid JSON: ${(err as Error).message}` } };
  }
  const bad = (reason: string): ReadOutcome => ({ corrupt: { file, reason } });
  if (!isObj(j)) return bad('not a JSON object');
  if (j.kind !== CACHE_KIND) return bad(`kind is ${JSON.stringify(j.kind)}, expected "${CACHE_KIND}"`);
  if (!isStr(j.containerId) || !isStr(j.ifName) || !isStr(j.networkName) || !j.ifName || !j.networkName) {
    return bad('containerId, ifName or networkName missing');
  }
  if (j.result !== undefined && !isObj(j.result)) return bad('result is not an object');
  const args = j.cniArgs;
  if (args !== undefined && !(Array.isArray(args) && args.every((a) => Array.isArray(a) && a.length === 2 && a.every(isStr)))) {
    return bad('cniArgs is not a list of [key, value] pairs');
  }
  if (j.capabilityArgs !== undefined && !isObj(j.capabilityArgs)) return bad('capabilityArgs is not an object');
  return {
    entry: {
      network: j.networkName,
      containerId: j.containerId,
      ifName: j.ifName,
      config: Buffer.from(isStr(j.config) ? j.config : '', 'base64'),
      netns: isStr(j.netns) ? j.netns : undefined,
      cniArgs: args as [string, string][] | undefined,
      capabilityArgs: j.capabilityArgs as Record<string, unknown> | undefined,
      result: j.result as Record<string, unknown> | undefined,
    },
  };
}
