import type { Syscalls } from '../../sys/syscalls.js';
import type { NetlinkOpener } from '../rtnetlink/netlink.js';
import { fromV1, toV1 } from './result.js';
import type { CniResult, Result100 } from '../cni/result/types.js';
import { isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from '../cni/version.js';
import { CNI_CODE, cniError } from './errors.js';
import type { Iptables } from './iptables.js';

// A plugin is functions (the reference's pkg/skel): one per command, taking
// the CNI environment and the parsed stdin config, returning the result or
// throwing a TsrunError with a CNI code. The same functions run in-process
// (the CNI client's fast path) and behind the executable entry.

export type PluginCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

export interface PluginRequest {
  command: PluginCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as given: "K=V;K2=V2" */
  args: string;
  /** CNI_PATH, for delegating to IPAM plugins that are not built in */
  path: string[];
  conf: Record<string, unknown>;
}

/** Everything a plugin touches outside itself: faked in unit tests. */
export interface PluginDeps {
  sys: Syscalls;
  netlink: NetlinkOpener;
  /** Writes /proc/sys/<key> inside `netns` (the caller's own when undefined). */
  sysctl(netns: string | undefined, key: string, value: string): void;
  iptables: Iptables;
  /** Runs an IPAM plugin: in-process when built in, exec otherwise. */
  ipam(type: string, req: PluginRequest): Promise<unknown>;
  /** Random bytes for names like vethXXXXXXXX (injectable for tests). */
  random(n: number): Buffer;
}

export interface Plugin {
  /** the spec versions it speaks, when not all of PLUGIN_VERSIONS (VERSION's answer) */
  versions?: readonly string[];
  add(req: PluginRequest, deps: PluginDeps): Promise<CniResult>;
  del(req: PluginRequest, deps: PluginDeps): Promise<void>;
  check?(req: PluginRequest, deps: PluginDeps): Promise<void>;
  gc?(req: PluginRequest, deps: PluginDeps): Promise<void>;
  status?(req: PluginRequest, deps: PluginDeps): Promise<void>;
}

export const PLUGIN_VERSIONS: readonly string[] = SUPPORTED_VERSIONS;

/** The config's cniVersion, checked (code 1 when we do not speak it, like the reference). */
export function confVersion(conf: Record<string, unknown>): CniVersion {
  const v = String(conf.cniVersion ?? '0.1.0');
  if (!isSupportedVersion(v)) {
    throw cniError(`incompatible CNI versions; config is "${v}", plugin supports [${PLUGIN_VERSIONS.map((x) => `"${x}"`).join(' ')}]`, CNI_CODE.INCOMPATIBLE_VERSION);
  }
  return v;
}

/** A 1.x result built by the plugin, printed in the config's version. */
export function finish(result: Omit<Result100, 'cniVersion'>, conf: Record<string, unknown>): Promise<CniResult> {
  return fromV1({ cniVersion: '1.0.0', ...result }, confVersion(conf));
}

/** prevResult (or an IPAM plugin's reply) in the 1.x shape. */
export function asV1(raw: unknown, conf: Record<string, unknown>): Promise<Result100> {
  return toV1(raw, confVersion(conf));
}

export function requireNetnsAndIf(req: PluginRequest): void {
  if (!req.containerId) throw cniError('required env variables [CNI_CONTAINERID] missing', CNI_CODE.INVALID_ENV);
  if (!req.ifName) throw cniError('required env variables [CNI_IFNAME] missing', CNI_CODE.INVALID_ENV);
}
