import { errorMessage, TsrunError } from '../../errors.js';
import { CNI_CODE, cniError } from './errors.js';
import { loadPlugin } from './registry.js';
import { confVersion, PLUGIN_VERSIONS, type PluginDeps, type PluginRequest } from './skel.js';

// One command for one built-in plugin: the same path for in-process calls
// and the executable. Env checks follow the reference's skel.

export type RunCommand = PluginRequest['command'] | 'VERSION';

/** The request a plugin gets from the CNI_* environment, as the spec defines it (exec and in-process alike). */
export function requestFromEnv(env: Record<string, string | undefined>, conf: Record<string, unknown>): Omit<PluginRequest, 'command'> {
  return {
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifName: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
    conf,
  };
}

export async function runBuiltin(type: string, command: RunCommand, req: Omit<PluginRequest, 'command'>, deps: PluginDeps): Promise<unknown> {
  const plugin = await loadPlugin(type);
  if (!plugin) throw cniError(`unknown built-in plugin "${type}"`);
  if (command === 'VERSION') return { cniVersion: String(req.conf.cniVersion ?? '1.1.0'), supportedVersions: plugin.versions ?? PLUGIN_VERSIONS };
  checkEnv(command, req);
  confVersion(req.conf);
  const full = { ...req, command };
  switch (command) {
    case 'ADD':
      return plugin.add(full, deps);
    case 'DEL':
      return plugin.del(full, deps);
    case 'CHECK':
      return plugin.check?.(full, deps);
    case 'GC':
      return plugin.gc?.(full, deps);
    case 'STATUS':
      return plugin.status?.(full, deps);
    default:
      throw cniError(`unknown CNI_COMMAND: ${command as string}`, CNI_CODE.INVALID_ENV);
  }
}

function checkEnv(command: RunCommand, req: Omit<PluginRequest, 'command'>): void {
  const needed: [string, string][] =
    command === 'ADD' || command === 'CHECK'
      ? [['CNI_CONTAINERID', req.containerId], ['CNI_NETNS', req.netns], ['CNI_IFNAME', req.ifName]]
      : command === 'DEL'
        ? [['CNI_CONTAINERID', req.containerId], ['CNI_IFNAME', req.ifName]]
        : [];
  const missing = needed.filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw cniError(`required env variables [${missing.join(',')}] missing`, CNI_CODE.INVALID_ENV);
}

/** The CNI error JSON for a failure (code 999 when the error carries none). */
export function cniErrorJson(err: unknown, cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
  const code = err instanceof TsrunError && err.cniCode !== undefined ? err.cniCode : CNI_CODE.INTERNAL;
  return { cniVersion, code, msg: errorMessage(err) };
}
