import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageError } from './errors.js';

// Content addressing: "sha256:<64 hex>" (or sha512). A digest is checked for
// shape before it is used as a file name, so it can never name a path.

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function parseDigest(digest: unknown, where: string): { algorithm: string; hex: string } {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw imageError(`${where}: bad digest ${JSON.stringify(digest)}`);
  }
  const [algorithm, hex] = digest.split(':') as [string, string];
  return { algorithm, hex };
}

/** blobs/<alg>/<hex> of an OCI image layout. */
export function blobPath(layoutDir: string, digest: unknown, where: string): string {
  const { algorithm, hex } = parseDigest(digest, where);
  return join(layoutDir, 'blobs', algorithm, hex);
}

export function checkDigest(expected: string, actualHex: string, what: string): void {
  const want = expected.slice(expected.indexOf(':') + 1);
  if (want !== actualHex) {
    throw imageError(`${what}: digest mismatch: expected ${expected}, got ${expected.slice(0, expected.indexOf(':'))}:${actualHex}`);
  }
}

/** Reads a small blob (manifest, index, config), checking size and digest when known. */
export function readVerified(path: string, digest: string | undefined, size: number | undefined): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    throw imageError(`${path}: missing blob${digest ? ` ${digest}` : ''}`, path);
  }
  if (size !== undefined && data.length !== size) {
    throw imageError(`${path}: size mismatch: expected ${size} bytes, got ${data.length}`, path);
  }
  if (digest) checkDigest(digest, createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256').update(data).digest('hex'), path);
  return data;
}

export function parseJson(data: Buffer, path: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw imageError(`${path}: not valid JSON: ${(err as Error).message}`, path);
  }
}
