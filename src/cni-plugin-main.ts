#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { realDeps } from './network/plugins/deps.js';
import { CNI_CODE, cniError } from './network/plugins/errors.js';
import { isBuiltin, loadPlugin } from './network/plugins/registry.js';
import { cniErrorJson, requestFromEnv, runBuiltin, type RunCommand } from './network/plugins/run.js';
import { PLUGIN_VERSIONS, type PluginDeps } from './network/plugins/skel.js';

// The built-in plugins as ordinary CNI executables: one multi-call entry,
// reached through links named after the plugin (dist/cni/bridge → this file),
// as `cni-plugin-main.js <type>`, or as a file written by `tsrun plugins
// install`, which names its type in a global (a renamed copy still works).
// Env and stdin in, JSON out, per the spec. Runtimes may call a plugin with an
// empty environment: without PATH, iptables is looked up in the usual places.
// Also built as CommonJS (dist/cni-plugin.cjs), hence no top-level await.

declare global {
  var tsrunCniPluginType: string | undefined;
}

function pluginType(): string {
  if (globalThis.tsrunCniPluginType) return globalThis.tsrunCniPluginType;
  const self = basename(process.argv[1] ?? '');
  return isBuiltin(self) ? self : (process.argv[2] ?? '');
}

async function main(): Promise<number> {
  const type = pluginType();
  const env = process.env;
  env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  let conf: Record<string, unknown> = {};
  try {
    if (!isBuiltin(type)) throw cniError(`unknown plugin "${type}": call this through a link named after a built-in plugin, or pass its name`);
    const command = env.CNI_COMMAND as RunCommand | undefined;
    if (!command) {
      const versions = (await loadPlugin(type))?.versions ?? PLUGIN_VERSIONS;
      process.stderr.write(`CNI ${type} plugin (tsrun built-in)\nCNI protocol versions supported: ${versions.join(', ')}\n`);
      return 0;
    }
    const stdin = readFileSync(0, 'utf8');
    try {
      conf = stdin.trim() ? (JSON.parse(stdin) as Record<string, unknown>) : {};
    } catch (err) {
      throw cniError(`error parsing configuration: ${(err as Error).message}`, CNI_CODE.DECODE_FAILURE);
    }
    // VERSION touches nothing: no koffi, no sockets (a runtime asks it of every plugin)
    const deps = command === 'VERSION' ? ({} as PluginDeps) : await realDeps();
    const out = await runBuiltin(type, command, requestFromEnv(env, conf), deps);
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${JSON.stringify(cniErrorJson(err, String(conf.cniVersion ?? '1.0.0')), null, 4)}\n`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
