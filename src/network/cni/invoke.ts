import { TsrunError, wrap } from '../../errors.js';
import type { NetworkConfigList, PluginConf } from './conf.js';
import { decodeOutcome, type PluginExec } from './exec.js';
import type { CniResult } from './result/types.js';
import { emit, explaining } from '../../explain/events.js';

// One plugin invocation: the stdin config libcni would build, the spec's
// environment, and the decoded reply.

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** What the runtime knows about one attachment (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs */
  args?: [string, string][];
  /** runtimeConfig values, passed only to plugins declaring the capability */
  capabilityArgs?: Record<string, unknown>;
}

export interface InvokeContext {
  exec: PluginExec;
  path: string[];
  timeoutMs: number;
}

/**
 * The stdin config for one plugin of a list: the plugin's own object with the
 * list's name and cniVersion, the previous result, and a runtimeConfig holding
 * only the capability args this plugin declares (libcni's buildOneConfig).
 */
export function buildPluginConfig(
  list: Pick<NetworkConfigList, 'name' | 'cniVersion'>,
  plugin: PluginConf,
  prevResult: CniResult | undefined,
  rt: RuntimeConf | undefined,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult) conf.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled && rt?.capabilityArgs && cap in rt.capabilityArgs) runtimeConfig[cap] = rt.capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

export function pluginEnv(command: CniCommand, rt: Partial<RuntimeConf>, path: string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId ?? '',
    CNI_NETNS: rt.netns ?? '',
    CNI_ARGS: (rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_IFNAME: rt.ifName ?? '',
    CNI_PATH: path.join(':'),
  };
}

/** `type="bridge" name="net1"`, as libcni names a plugin in its errors. */
export function describePlugin(networkName: string, plugin: PluginConf): string {
  return `type=${JSON.stringify(plugin.type)} name=${JSON.stringify(networkName)}`;
}

/** Runs one plugin; resolves with its parsed stdout (undefined when it printed nothing). */
export async function invokePlugin(
  ctx: InvokeContext,
  type: string,
  command: CniCommand,
  stdinConf: Record<string, unknown>,
  rt: Partial<RuntimeConf>,
): Promise<unknown> {
  const pluginPath = ctx.exec.findInPath(type, ctx.path);
  const outcome = await ctx.exec.run(pluginPath, JSON.stringify(stdinConf), pluginEnv(command, rt, ctx.path), ctx.timeoutMs);
  try {
    const result = decodeOutcome(outcome, ctx.timeoutMs);
    if (explaining()) explainPlugin(type, command, stdinConf, rt, resultSummary(result));
    return result;
  } catch (err) {
    if (explaining()) explainPlugin(type, command, stdinConf, rt, err instanceof Error ? err.message : String(err));
    throw err;
  }
}

/** --explain: the call as the plugin sees it (command, the env that matters, a stdin summary) and what it answered. */
function explainPlugin(type: string, command: CniCommand, conf: Record<string, unknown>, rt: Partial<RuntimeConf>, result: string): void {
  const stdin = [`name: ${String(conf.name)}`, `cniVersion: ${String(conf.cniVersion)}`, conf.prevResult ? 'prevResult' : '', conf.runtimeConfig ? `runtimeConfig: ${Object.keys(conf.runtimeConfig).join(',')}` : '']
    .filter(Boolean)
    .join(', ');
  emit('cni', `${type} ${command} (CNI_CONTAINERID=${rt.containerId ?? ''} CNI_NETNS=${rt.netns ?? ''} CNI_IFNAME=${rt.ifName ?? ''}) <<< {${stdin}}`, result, `network "${String(conf.name)}": plugin type "${type}"`);
}

function resultSummary(result: unknown): string {
  const r = result as { ips?: { address?: string }[]; interfaces?: { name?: string }[] } | undefined;
  if (!r) return 'ok';
  const ips = (r.ips ?? []).map((i) => i.address).filter(Boolean);
  const ifs = (r.interfaces ?? []).map((i) => i.name).filter(Boolean);
  return ips.length || ifs.length ? `ok: ${[...ifs, ...ips].join(' ')}` : 'ok';
}

/** `plugin type="bridge" name="net1" failed (add): <msg>`, keeping the CNI code. */
export function pluginFailure(networkName: string, plugin: PluginConf, op: string, err: unknown): TsrunError {
  const e = wrap(err, `plugin ${describePlugin(networkName, plugin)} failed (${op})`);
  return e.code === 'INTERNAL' ? new TsrunError('CNI_PLUGIN', e.message, { cause: err }) : e;
}
