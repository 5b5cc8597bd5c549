import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Koffi } from '../../../sys/koffi-loader.js';

// koffi for an installed plugin (see ./install.ts): the build replaces the
// runtime's koffi-loader with this module in the standalone bundle, and puts
// koffi's prebuilt addon for this machine's arch into it (gzip, base64), so a
// plugin file needs nothing beside it. dlopen wants a file, though: `tsrun
// plugins install` writes the addon next to the plugins
// (.tsrun-koffi-<sha256>.node), and a plugin copied elsewhere on its own writes
// it once into a private directory (root: /run/tsrun-cni; others:
// $TMPDIR/tsrun-cni-<uid>; TSRUN_CNI_CACHE_DIR overrides). Either file is
// loaded only when owned by the caller and not writable by others, and the
// directory must be the caller's and closed (mode 0700), or someone else could
// plant the library root loads.

declare const TSRUN_KOFFI_ADDON: { gzBase64: string; sha256: string; size: number; arch: string };

let loaded: Koffi | undefined;

export function loadKoffi(): Koffi {
  loaded ??= load();
  return loaded;
}

function load(): Koffi {
  const addon = TSRUN_KOFFI_ADDON;
  if (addon.arch !== process.arch) throw new Error(`this tsrun CNI plugin was built for ${addon.arch}, not ${process.arch}: run \`tsrun plugins install\` on this machine`);
  const beside = join(dirname(realpathSync(process.argv[1] ?? '.')), `.tsrun-koffi-${addon.sha256.slice(0, 16)}.node`);
  const file = trusted(beside, addon.size) ? beside : join(privateDir(), `koffi-${addon.sha256.slice(0, 16)}.node`);
  if (file !== beside && !trusted(file, addon.size)) {
    const bytes = gunzipSync(Buffer.from(addon.gzBase64, 'base64'));
    if (createHash('sha256').update(bytes).digest('hex') !== addon.sha256) throw new Error('tsrun CNI plugin: the embedded koffi addon is corrupt');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, file);
  }
  const mod = { exports: {} as Koffi };
  process.dlopen(mod, file);
  return mod.exports;
}

function privateDir(): string {
  const uid = process.geteuid?.() ?? 0;
  const dir = process.env.TSRUN_CNI_CACHE_DIR || (uid === 0 ? '/run/tsrun-cni' : join(tmpdir(), `tsrun-cni-${uid}`));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(`tsrun CNI plugin: ${dir} must be a directory owned by uid ${uid} with mode 0700 (it holds the koffi addon this plugin loads)`);
  }
  return dir;
}

/** An addon file of the expected size, owned by the caller, not writable by group or others. */
function trusted(file: string, size: number): boolean {
  try {
    const st = lstatSync(file);
    return st.isFile() && st.size === size && st.uid === (process.geteuid?.() ?? 0) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
