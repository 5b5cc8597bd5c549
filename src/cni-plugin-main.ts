#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { realDeps } from './network/plugins/deps.js';
import { CNI_CODE, cniError } from './network/plugins/errors.js';
import { isBuiltin } from './network/plugins/registry.js';
import { cniErrorJson, requestFromEnv, runBuiltin, type RunCommand } from './network/plugins/run.js';

// The built-in plugins as ordinary CNI executables: one multi-call entry,
// reached through links named after the plugin (dist/cni/bridge → this file)
// or as `cni-plugin-main.js <type>`. Env and stdin in, JSON out, per the spec.

function pluginType(): string {
  const self = basename(process.argv[1] ?? '');
  return isBuiltin(self) ? self : (process.argv[2] ?? '');
}

async function main(): Promise<number> {
  const type = pluginType();
  const env = process.env;
  let conf: Record<string, unknown> = {};
  try {
    if (!isBuiltin(type)) throw cniError(`unknown plugin "${type}": call this through a link named after a built-in plugin, or pass its name`);
    const command = env.CNI_COMMAND as RunCommand | undefined;
    if (!command) {
      process.stderr.write(`CNI ${type} plugin (tsrun built-in)\n`);
      return 0;
    }
    const stdin = readFileSync(0, 'utf8');
    try {
      conf = stdin.trim() ? (JSON.parse(stdin) as Record<string, unknown>) : {};
    } catch (err) {
      throw cniError(`error parsing configuration: ${(err as Error).message}`, CNI_CODE.DECODE_FAILURE);
    }
    const out = await runBuiltin(type, command, requestFromEnv(env, conf), await realDeps());
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${JSON.stringify(cniErrorJson(err, String(conf.cniVersion ?? '1.0.0')), null, 4)}\n`);
    return 1;
  }
}

process.exitCode = await main();
