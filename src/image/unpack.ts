import { closeSync, createReadStream, lstatSync, openSync, readSync, utimesSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { TsrunError, wrap } from '../errors.js';
import type { Syscalls } from '../sys/syscalls.js';
import { applyEntry, type UnpackContext } from './entry.js';
import { imageError } from './errors.js';
import { resolveInRoot } from './paths.js';
import type { LayerBlob } from './source.js';
import { checkDigest } from './digest.js';

// Unpacks an image's layers, lowest first, into one directory. Each layer is
// read once as a stream: the compressed bytes are hashed against the
// manifest's digest, the uncompressed ones against the config's diff_id, and
// the tar entries are written as they arrive (tar's Parser in strict mode, so a
// truncated or corrupt archive is an error, not a warning).

export async function unpackLayers(root: string, layers: LayerBlob[], sys: Pick<Syscalls, 'mknod'>): Promise<void> {
  const dirTimes = new Map<string, Date>();
  const chown = process.geteuid?.() === 0;
  for (const [i, layer] of layers.entries()) {
    const ctx: UnpackContext = { root, sys, chown, thisLayer: new Set(), dirTimes };
    try {
      await unpackLayer(ctx, layer);
    } catch (err) {
      throw wrap(err, `layer ${i + 1}/${layers.length} (${layer.digest ?? layer.path})`);
    }
  }
  setDirTimes(root, dirTimes);
}

/**
 * Deepest first, so setting a child's time does not touch its parent's
 * afterwards. A directory a later layer removed, or replaced (itself or a
 * parent) by a symlink, is skipped: utimes follows symlinks.
 */
function setDirTimes(root: string, dirTimes: Map<string, Date>): void {
  for (const [dir, mtime] of [...dirTimes].sort((a, b) => b[0].length - a[0].length)) {
    const rel = relative(root, dir);
    try {
      if (rel && resolveInRoot(root, rel.split(sep), rel) !== dir) continue;
      if (!lstatSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    utimesSync(dir, mtime, mtime);
  }
}

type Compression = 'gzip' | 'none';

function sniff(path: string): Compression {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(4);
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) {
    throw imageError('zstd-compressed layers are not supported (Node 20 has no zstd)', path);
  }
  return 'none';
}

function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

async function unpackLayer(ctx: UnpackContext, layer: LayerBlob): Promise<void> {
  const compression = sniff(layer.path);
  const blobHash = createHash(algorithm(layer.digest));
  const diffHash = createHash(algorithm(layer.diffId));
  const parser = new Parser({ strict: true });
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
  };
  parser.on('entry', (e: ReadEntry) => {
    if (failure) return void e.resume();
    try {
      applyEntry(ctx, e, (err) => err && fail(wrapEntry(err, e)));
    } catch (err) {
      fail(wrapEntry(err, e));
      e.resume();
    }
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('error', (err: Error) => reject(imageError(`not a valid tar archive: ${err.message}`, layer.path)));
    parser.on('abort', (err: Error) => reject(err));
    parser.on('end', () => resolve());
  });
  parsed.catch(() => {}); // observed below; avoid an unhandled rejection while the pipeline runs
  await pipeline(
    createReadStream(layer.path),
    hashing(blobHash),
    compression === 'gzip' ? createGunzip() : new PassThrough(),
    hashing(diffHash),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        if (failure) throw failure;
        if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
      }
      parser.end();
      await parsed;
    },
  ).catch((err: unknown) => {
    if (err instanceof TsrunError) throw err;
    const code = (err as { code?: string }).code;
    if (code?.startsWith('Z_')) throw imageError(`corrupt gzip stream: ${(err as Error).message}`, layer.path);
    throw err;
  });
  if (failure) throw failure;
  if (layer.digest) checkDigest(layer.digest, blobHash.digest('hex'), layer.path);
  if (layer.diffId) checkDigest(layer.diffId, diffHash.digest('hex'), `${layer.path} (uncompressed, config diff_id)`);
}

function algorithm(digest: string | undefined): string {
  return digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
}

function wrapEntry(err: unknown, e: ReadEntry): unknown {
  if (err instanceof TsrunError) return err;
  return wrap(err, `entry "${e.path}"`);
}
