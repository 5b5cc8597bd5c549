import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TsrunError } from '../../../errors.js';
import { BUILTIN_TYPES } from '../registry.js';

// `tsrun plugins install`: each built-in plugin as one standalone executable
// in a CNI bin directory (/opt/cni/bin by default), as containerd, CRI-O and
// cnitool expect. A plugin file is the standalone bundle (dist/cni-plugin.cjs:
// CommonJS, so an extensionless file runs without a package.json; koffi's
// addon inside) behind two lines written here: a shebang with the absolute
// path of this node (a runtime may call plugins with an empty environment,
// where `/usr/bin/env node` finds nothing) and the plugin's type (so a renamed
// copy still knows what it is). Beside them goes koffi's addon, named by its
// sha256, which the plugins load (see ./embedded-koffi.ts); a plugin copied
// elsewhere alone still works, writing its embedded copy to a private dir.

export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin';

export type InstallState = 'absent' | 'same' | 'different';

export interface PluginFile {
  type: string;
  path: string;
  state: InstallState;
}

/** The exact bytes of one installed plugin. */
export function pluginText(type: string, bundle: string, node: string): string {
  const body = bundle.replace(/^#!.*\n/, '');
  return `#!${node}\n"use strict";\n// tsrun built-in CNI plugin "${type}" (tsrun plugins install)\nglobalThis.tsrunCniPluginType = ${JSON.stringify(type)};\n${body}`;
}

function stateOf(path: string, want: string): InstallState {
  let have: string;
  try {
    have = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new TsrunError('BAD_INPUT', `plugins: cannot read "${path}": ${(err as Error).message}`);
  }
  return have === want ? 'same' : 'different';
}

export interface InstallOptions {
  dir: string;
  /** dist/cni-plugin.cjs; dist/cni-plugin-koffi.node beside it */
  bundlePath: string;
  /** absolute path of node for the shebang */
  node: string;
  force?: boolean;
  /** only say what is there (`--list`) */
  dryRun?: boolean;
}

/**
 * Compares every plugin with what is in `dir`, refuses (writing nothing) when
 * a different file has a plugin's name unless `force`, then writes each
 * missing or different one by tmp + rename, mode 0755.
 */
export function installPlugins(o: InstallOptions): PluginFile[] {
  let bundle: string;
  let addon: Buffer;
  try {
    bundle = readFileSync(o.bundlePath, 'utf8');
    addon = readFileSync(o.bundlePath.replace(/\.cjs$/, '-koffi.node'));
  } catch (err) {
    throw new TsrunError('BAD_INPUT', `plugins: cannot read the plugin bundle: ${(err as Error).message}`, { hint: 'run `npm run build` first' });
  }
  const files = BUILTIN_TYPES().map((type) => {
    const path = join(o.dir, type);
    const text = pluginText(type, bundle, o.node);
    return { type, path, text, state: stateOf(path, text) };
  });
  const report = (): PluginFile[] => files.map(({ type, path, state }) => ({ type, path, state }));
  if (o.dryRun) return report();
  const clash = files.filter((f) => f.state === 'different');
  if (clash.length && !o.force) {
    throw new TsrunError('BAD_INPUT', `plugins: ${clash.map((f) => `"${f.path}"`).join(', ')} already exist${clash.length === 1 ? 's' : ''} with other content`, {
      hint: 'pass --force to replace them, or install into another directory',
    });
  }
  mkdirSync(o.dir, { recursive: true, mode: 0o755 });
  const addonFile = { path: join(o.dir, `.tsrun-koffi-${createHash('sha256').update(addon).digest('hex').slice(0, 16)}.node`), text: addon };
  for (const f of [addonFile, ...files.filter((x) => x.state !== 'same')]) {
    const tmp = `${f.path}.tsrun-${process.pid}.tmp`;
    try {
      writeFileSync(tmp, f.text, { mode: 0o755 });
      chmodSync(tmp, f === addonFile ? 0o644 : 0o755); // whatever the umask
      renameSync(tmp, f.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new TsrunError('BAD_INPUT', `plugins: cannot write "${f.path}": ${(err as Error).message}`);
    }
  }
  return report();
}
