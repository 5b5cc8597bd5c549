import { chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import { errnoCode } from '../spec/fs-error.js';
import { writeSpecFile } from '../spec/write.js';
import type { Syscalls } from '../sys/syscalls.js';
import { specFromImage } from './config.js';
import { readDockerArchive } from './docker-archive.js';
import { readOciLayout } from './layout.js';
import { splitSource } from './reference.js';
import type { ImageSource } from './source.js';
import { unpackLayers } from './unpack.js';

// `tsrun bundle import SOURCE[:TAG] BUNDLE-DIR`: an OCI image layout or a
// docker-archive tar becomes a runtime bundle (rootfs/ + config.json).
// Everything is built in a temp dir next to the target and renamed into place
// at the end, so a failure at any step leaves no half-written bundle.

export interface ImportOptions {
  /** "dir", "dir:tag", "image.tar", "image.tar:name:tag" */
  source: string;
  bundleDir: string;
  sys: Pick<Syscalls, 'mknod'>;
}

export interface ImportResult {
  bundleDir: string;
  ref?: string;
  layers: number;
  warnings: string[];
}

/** The target may be missing or an empty directory; anything else is refused. */
function checkTarget(target: string): void {
  let st;
  try {
    st = statSync(target);
  } catch {
    return;
  }
  if (!st.isDirectory() || readdirSync(target).length > 0) {
    throw new TsrunError('EXISTS', `${target} exists and is not an empty directory`, {
      file: target,
      hint: 'import into a new or empty directory',
    });
  }
}

async function readSource(path: string, tag: string | undefined, work: string): Promise<ImageSource> {
  if (statSync(path).isDirectory()) return readOciLayout(path, tag);
  return readDockerArchive(path, join(work, 'archive'), tag);
}

export async function importBundle(opts: ImportOptions): Promise<ImportResult> {
  const { path, tag } = splitSource(opts.source);
  const target = resolve(opts.bundleDir);
  checkTarget(target);
  const parent = dirname(target);
  try {
    statSync(parent);
  } catch {
    throw new TsrunError('NOT_FOUND', `${parent}: no such directory`, { file: parent });
  }
  const temp = mkdtempSync(join(parent, `.${basename(target)}.import-`));
  try {
    const work = join(temp, '.work');
    const image = await readSource(path, tag, work);
    const rootfs = join(temp, 'rootfs');
    mkdirSync(rootfs, { mode: 0o755 });
    await unpackLayers(rootfs, image.layers, opts.sys);
    const { spec, warnings } = specFromImage(image.config, rootfs, image.ref);
    rmSync(work, { recursive: true, force: true });
    writeSpecFile(temp, spec);
    chmodSync(temp, 0o755);
    publish(temp, target);
    return { bundleDir: target, ref: image.ref, layers: image.layers.length, warnings };
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

/** rename(2) replaces an empty directory and refuses a non-empty one, so a racing writer is caught too. */
function publish(temp: string, target: string): void {
  try {
    renameSync(temp, target);
  } catch (err) {
    const errno = errnoCode(err);
    if (errno === 'ENOTEMPTY' || errno === 'EEXIST' || errno === 'ENOTDIR') {
      throw new TsrunError('EXISTS', `${target} exists and is not an empty directory`, { file: target, errno });
    }
    throw err;
  }
}
