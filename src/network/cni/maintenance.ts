import { TsrunError, errorMessage } from '../../errors.js';
import { CniClient, joinErrors } from './api.js';
import type { NetworkConfigList } from './conf.js';
import { invokePlugin, pluginFailure } from './invoke.js';
import { LATEST_VERSION, atLeast } from './version.js';

// Spec 1.1 housekeeping (GC, STATUS) and VERSION negotiation.

/** An attachment the runtime still uses (spec: cni.dev/valid-attachments). */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export interface GcReport {
  /** stale cached attachments that got a DEL */
  deleted: { containerId: string; ifName: string }[];
}

/**
 * GC as libcni does it: DEL every cached attachment of this network that is not
 * in `valid`, then (config ≥ 1.1.0) send GC with the valid list to each plugin
 * so it can drop what the cache never knew about. Errors are collected.
 */
export async function gcNetworkList(client: CniClient, list: NetworkConfigList, valid: GcAttachment[] = []): Promise<GcReport> {
  const report: GcReport = { deleted: [] };
  if (list.disableGC) return report;
  const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
  const errors: TsrunError[] = [];
  for (const entry of client.cachedAttachments()) {
    if (entry.network !== list.name || keep.has(`${entry.containerId}\0${entry.ifName}`)) continue;
    const rt = { containerId: entry.containerId, ifName: entry.ifName, netns: entry.netns ?? '', args: entry.cniArgs, capabilityArgs: entry.capabilityArgs };
    try {
      await client.delNetworkList(list, rt);
      report.deleted.push({ containerId: entry.containerId, ifName: entry.ifName });
    } catch (err) {
      errors.push(new TsrunError('CNI_PLUGIN', `failed to delete stale attachment ${entry.containerId} ${entry.ifName}: ${errorMessage(err)}`, { cause: err }));
    }
  }
  if (atLeast(list.cniVersion, '1.1.0')) {
    for (const plugin of list.plugins) {
      const conf = { ...plugin, name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': valid };
      try {
        await invokePlugin(client.ctx, plugin.type, 'GC', conf, {});
      } catch (err) {
        errors.push(pluginFailure(list.name, plugin, 'gc', err));
      }
    }
  }
  if (errors.length > 0) throw joinErrors(errors);
  return report;
}

/** STATUS (≥ 1.1.0; older configs have no way to ask and count as ready). Stops at the first plugin not ready. */
export async function getStatusNetworkList(client: CniClient, list: NetworkConfigList): Promise<void> {
  if (!atLeast(list.cniVersion, '1.1.0')) return;
  for (const plugin of list.plugins) {
    try {
      await invokePlugin(client.ctx, plugin.type, 'STATUS', { ...plugin, name: list.name, cniVersion: list.cniVersion }, {});
    } catch (err) {
      throw pluginFailure(list.name, plugin, 'status', err);
    }
  }
}

export interface PluginVersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/** Asks a plugin which spec versions it speaks. A reply without supportedVersions means 0.1.0/0.2.0 (spec). */
export async function getVersionInfo(client: CniClient, type: string): Promise<PluginVersionInfo> {
  const out = await invokePlugin(client.ctx, type, 'VERSION', { cniVersion: LATEST_VERSION }, {});
  const o = (out ?? {}) as Partial<PluginVersionInfo>;
  const supported = Array.isArray(o.supportedVersions) ? o.supportedVersions.map(String) : ['0.1.0', '0.2.0'];
  return { cniVersion: String(o.cniVersion ?? ''), supportedVersions: supported };
}

/**
 * Checks every plugin exists and speaks the list's version (libcni's
 * ValidateNetworkList); returns the capabilities the list declares.
 */
export async function validateNetworkList(client: CniClient, list: NetworkConfigList): Promise<string[]> {
  const errors: TsrunError[] = [];
  const caps = new Set<string>();
  for (const plugin of list.plugins) {
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) if (on) caps.add(cap);
    try {
      const info = await getVersionInfo(client, plugin.type);
      if (!info.supportedVersions.includes(list.cniVersion)) {
        errors.push(new TsrunError('CNI_CONFIG', `plugin ${plugin.type} does not support config version "${list.cniVersion}" (it supports ${info.supportedVersions.join(', ')})`, { cniCode: 1 }));
      }
    } catch (err) {
      errors.push(pluginFailure(list.name, plugin, 'version', err));
    }
  }
  if (errors.length > 0) throw joinErrors(errors);
  return [...caps].sort();
}
