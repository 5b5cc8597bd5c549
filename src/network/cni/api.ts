import { TsrunError, errorMessage } from '../../errors.js';
import { ResultCache, type CacheEntry, type CacheKey } from './cache.js';
import type { NetworkConfigList, PluginConf } from './conf.js';
import { DEFAULT_CNI_PATH, DEFAULT_TIMEOUT_MS, RealPluginExec, type PluginExec } from './exec.js';
import { buildPluginConfig, invokePlugin, pluginFailure, type InvokeContext, type RuntimeConf } from './invoke.js';
import { convertResult, parseResult } from './result/convert.js';
import type { CniResult } from './result/types.js';
import { validateRuntimeConf } from './validate.js';
import { InProcessPluginExec } from '../plugins/in-process-exec.js';
import { atLeast } from './version.js';

// The libcni equivalent: run a network's plugin chain for ADD, CHECK and DEL,
// and keep the result cache. GC, STATUS and VERSION live in maintenance.ts.

export interface CniClientOptions {
  /** directories searched for plugin binaries (CNI_PATH) */
  path?: string[];
  exec?: PluginExec;
  /** exec plugin binaries even for the built-in types (default: built-ins run in-process) */
  forceExec?: boolean;
  /** holds results/ (default /var/lib/cni) */
  cacheDir?: string;
  /** per plugin invocation */
  timeoutMs?: number;
  /** non-fatal problems (a corrupt cache entry, a failed rollback step) */
  warn?: (message: string) => void;
}

export class CniClient {
  readonly ctx: InvokeContext;
  readonly cache: ResultCache;
  readonly warn: (message: string) => void;

  constructor(opts: CniClientOptions = {}) {
    this.ctx = {
      exec: opts.exec ?? new InProcessPluginExec(new RealPluginExec(), { forceExec: opts.forceExec }),
      path: opts.path ?? DEFAULT_CNI_PATH,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    this.cache = new ResultCache(opts.cacheDir);
    this.warn = opts.warn ?? (() => {});
  }

  /**
   * Runs ADD through the chain, each plugin getting the previous one's result
   * (converted to the list's version). If a plugin fails, the plugins that ran
   * (the failing one included: it may have half-built things) get DEL in reverse.
   */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    validateRuntimeConf(list.name, rt);
    const key = cacheKey(list, rt);
    // A repeated ADD fails in the plugins; rolling that back would tear down the
    // attachment the first ADD made, so roll back only what this call created.
    const attachmentExisted = !('missing' in this.cache.read(key));
    let result: CniResult | undefined;
    let at = 0;
    let failure: TsrunError | undefined;
    const chain = async (): Promise<void> => {
      for (const [i, plugin] of list.plugins.entries()) {
        at = i;
        try {
          result = await this.addOne(list, plugin, result, rt);
        } catch (err) {
          throw (failure = pluginFailure(list.name, plugin, 'add', err));
        }
      }
    };
    try {
      await this.batched('ADD', chain);
    } catch (err) {
      // a plugin failed, or applying what the chain's plugins held back did (then all of them ran)
      const reported = failure ?? new TsrunError('CNI_PLUGIN', `network "${list.name}": ${errorMessage(err)}`, { cause: err });
      if (!attachmentExisted) await this.rollback(list, at, result, rt);
      throw reported;
    }
    if (!result) throw new TsrunError('CNI_PLUGIN', `network "${list.name}" produced no result`);
    try {
      this.cache.write({ ...key, config: list.bytes, netns: rt.netns, cniArgs: rt.args, capabilityArgs: rt.capabilityArgs, result: result as Record<string, unknown> });
    } catch (err) {
      await this.rollback(list, list.plugins.length - 1, result, rt);
      throw err;
    }
    return result;
  }

  private async addOne(list: NetworkConfigList, plugin: PluginConf, prev: CniResult | undefined, rt: RuntimeConf): Promise<CniResult> {
    const out = await invokePlugin(this.ctx, plugin.type, 'ADD', buildPluginConfig(list, plugin, prev, rt), rt);
    if (out === undefined) throw new TsrunError('CNI_PLUGIN', 'plugin printed no result');
    return convertResult(parseResult(out, list.cniVersion), list.cniVersion);
  }

  /** A chain's ADD or DEL, with the exec's batching of side effects when it has one (PluginExec.batch). */
  private batched(command: 'ADD' | 'DEL', chain: () => Promise<void>): Promise<void> {
    return this.ctx.exec.batch ? this.ctx.exec.batch(command, chain) : chain();
  }

  /** DEL for plugins[0..last] in reverse; problems are warned, not thrown, so the ADD error stays the one reported. */
  private async rollback(list: NetworkConfigList, last: number, prev: CniResult | undefined, rt: RuntimeConf): Promise<void> {
    for (let i = last; i >= 0; i--) {
      const plugin = list.plugins[i]!;
      try {
        await invokePlugin(this.ctx, plugin.type, 'DEL', buildPluginConfig(list, plugin, prev, rt), rt);
      } catch (err) {
        this.warn(`rollback: ${pluginFailure(list.name, plugin, 'delete', err).message}`);
      }
    }
  }

  /**
   * The cache entry and its result converted to the list's version. A corrupt
   * entry is reported and ignored, not removed: libcni writes its entries in
   * place, so one may be half written by another client right now; a DEL
   * removes the entry when it is done.
   */
  cached(list: NetworkConfigList, rt: RuntimeConf): { entry?: CacheEntry; result?: CniResult } {
    const key = cacheKey(list, rt);
    const read = this.cache.read(key);
    if ('missing' in read) return {};
    if ('corrupt' in read) {
      this.warn(`ignoring corrupt CNI cache entry ${read.corrupt.file}: ${read.corrupt.reason}`);
      return {};
    }
    if (!read.entry.result) return { entry: read.entry };
    try {
      return { entry: read.entry, result: convertResult(parseResult(read.entry.result, list.cniVersion), list.cniVersion) };
    } catch (err) {
      this.warn(`ignoring unusable result in CNI cache entry ${this.cache.fileFor(key)}: ${errorMessage(err)}`);
      return { entry: read.entry };
    }
  }

  /** CHECK in order with the cached result (and, like DEL, the cached args when given none). */
  async checkNetworkList(list: NetworkConfigList, given: RuntimeConf): Promise<void> {
    validateRuntimeConf(list.name, given);
    if (!atLeast(list.cniVersion, '0.4.0')) {
      throw new TsrunError('NOT_SUPPORTED', `configuration version "${list.cniVersion}" does not support the CHECK command`);
    }
    if (list.disableCheck) return;
    const { entry, result: prev } = this.cached(list, given);
    const rt = withCachedArgs(given, entry);
    if (!prev) {
      throw new TsrunError('NOT_FOUND', `no cached result for network "${list.name}", container "${rt.containerId}", interface "${rt.ifName}"`, {
        hint: 'CHECK needs the result of an earlier ADD',
      });
    }
    for (const plugin of list.plugins) {
      try {
        await invokePlugin(this.ctx, plugin.type, 'CHECK', buildPluginConfig(list, plugin, prev, rt), rt);
      } catch (err) {
        throw pluginFailure(list.name, plugin, 'check', err);
      }
    }
  }

  /**
   * DEL through the chain in reverse, with the cached result as prevResult.
   * Every plugin gets its DEL even if an earlier one failed (teardown goes on);
   * the cache entry is removed only when all succeeded, so a retry still has it.
   * When the caller passes no CNI_ARGS or capability args, the ones cached at ADD
   * are used: portmap, for one, can only remove its rules knowing the mappings.
   * (libcni uses only the caller's; its callers re-send what they sent on ADD.)
   */
  async delNetworkList(list: NetworkConfigList, given: RuntimeConf): Promise<void> {
    validateRuntimeConf(list.name, given);
    const { entry, result } = this.cached(list, given);
    // Cached results on DEL came with spec 0.4.0.
    const prev = atLeast(list.cniVersion, '0.4.0') ? result : undefined;
    const rt = withCachedArgs(given, entry);
    const errors: TsrunError[] = [];
    const chain = async (): Promise<void> => {
      for (const plugin of [...list.plugins].reverse()) {
        try {
          await invokePlugin(this.ctx, plugin.type, 'DEL', buildPluginConfig(list, plugin, prev, rt), rt);
        } catch (err) {
          errors.push(pluginFailure(list.name, plugin, 'delete', err));
        }
      }
    };
    try {
      await this.batched('DEL', chain);
    } catch (err) {
      errors.push(new TsrunError('CNI_PLUGIN', `network "${list.name}": ${errorMessage(err)}`, { cause: err }));
    }
    if (errors.length > 0) throw joinErrors(errors);
    this.cache.remove(cacheKey(list, rt));
  }

  /** Cached attachments, optionally of one container; corrupt entries are warned about and skipped. */
  cachedAttachments(containerId?: string): CacheEntry[] {
    const { entries, corrupt } = this.cache.list(containerId);
    for (const c of corrupt) this.warn(`skipping corrupt CNI cache entry ${c.file}: ${c.reason}`);
    return entries;
  }
}

/** The caller's CNI_ARGS and capability args, or the ones cached at ADD when the caller gave none. */
function withCachedArgs(given: RuntimeConf, entry: CacheEntry | undefined): RuntimeConf {
  const hasCaps = given.capabilityArgs !== undefined && Object.keys(given.capabilityArgs).length > 0;
  return {
    ...given,
    args: given.args?.length ? given.args : entry?.cniArgs,
    capabilityArgs: hasCaps ? given.capabilityArgs : entry?.capabilityArgs,
  };
}

export function cacheKey(list: Pick<NetworkConfigList, 'name'>, rt: RuntimeConf): CacheKey {
  return { network: list.name, containerId: rt.containerId, ifName: rt.ifName };
}

/** One error stays itself; several keep the first one's code and CNI code, with every message. */
export function joinErrors(errors: TsrunError[]): TsrunError {
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  return new TsrunError(first.code, errors.map((e) => e.message).join('; '), { cniCode: first.cniCode, cause: errors });
}
