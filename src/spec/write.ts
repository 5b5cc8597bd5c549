import { existsSync, linkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { errnoCode } from './fs-error.js';
import type { Spec } from './types.js';

function exists(target: string): TsrunError {
  return new TsrunError('EXISTS', `File ${target} exists. Remove it first`, { file: target, errno: 'EEXIST' });
}

/** link() fails with EEXIST instead of replacing, unlike rename(); fall back where links are unsupported. */
function publish(temp: string, target: string): void {
  try {
    linkSync(temp, target);
  } catch (err) {
    const errno = errnoCode(err);
    if (errno === 'EEXIST') throw exists(target);
    if (errno !== 'EPERM' && errno !== 'ENOTSUP' && errno !== 'EOPNOTSUPP') throw err;
    if (existsSync(target)) throw exists(target);
    renameSync(temp, target);
  }
}

/** Writes DIR/config.json through a temp file, refusing to replace one that exists. */
export function writeSpecFile(bundleDir: string, spec: Spec): string {
  const target = join(bundleDir, 'config.json');
  if (existsSync(target)) throw exists(target);
  const temp = join(bundleDir, `.config.json.${process.pid}.tmp`);
  try {
    writeFileSync(temp, JSON.stringify(spec, null, '\t') + '\n');
    publish(temp, target);
  } catch (err) {
    if (err instanceof TsrunError) throw err;
    const errno = errnoCode(err);
    if (errno === 'ENOENT') throw new TsrunError('NOT_FOUND', `bundle ${bundleDir}: no such file or directory`, { errno });
    throw new TsrunError('INTERNAL', `write ${target}: ${(err as Error).message}`, { file: target, errno, cause: err });
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // renamed into place, or never written
    }
  }
  return target;
}
