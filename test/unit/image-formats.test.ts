import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importBundle } from '../../src/image/import.js';
import { tarBytes, writeOciLayout, type TarEntry } from '../integration/image-fixtures.js';

// The less common shapes of an image: an OCI layout whose index.json points at a
// per-platform index, an OCI layout packed in a tar (podman save --format
// oci-archive), a docker archive that dedups a layer with a symlink.

const T = mkdtempSync(join(tmpdir(), 'tsrun-image-fmt-'));
afterAll(() => rmSync(T, { recursive: true, force: true }));
const sys = { mknod: (): void => {} };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const layer = tarBytes([{ path: 'hello', data: 'world' }]);
const image = { tags: ['v1'], layers: [{ tar: layer, gzip: true }], config: { Cmd: ['/hello'] } };

/** Every file under dir as a tar entry. */
function filesOf(dir: string): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(dir, p), data: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

describe('image formats', () => {
  it('an index of platforms: the host one is picked', async () => {
    const dir = join(T, 'multi');
    const { manifests } = writeOciLayout(dir, [image]);
    const blobs = join(dir, 'blobs/sha256');
    const manifestSize = readFileSync(join(blobs, manifests[0]!.slice(7))).length;
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + 'f'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'riscv64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifests[0], size: manifestSize, platform: { os: 'linux', architecture: arch } },
        ],
      }),
    );
    writeFileSync(join(blobs, sha(nested)), nested);
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${sha(nested)}`, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }),
    );
    const r = await importBundle({ source: `${dir}:multi`, bundleDir: join(T, 'b-multi'), sys });
    expect(r).toMatchObject({ ref: 'multi', layers: 1 });
    expect(readFileSync(join(T, 'b-multi/rootfs/hello'), 'utf8')).toBe('world');
  });

  it('an OCI layout inside a tar (oci-archive)', async () => {
    const dir = join(T, 'for-archive');
    writeOciLayout(dir, [image]);
    const file = join(T, 'oci-archive.tar');
    writeFileSync(file, tarBytes(filesOf(dir)));
    const r = await importBundle({ source: file, bundleDir: join(T, 'b-ociarchive'), sys });
    expect(r).toMatchObject({ ref: 'v1', layers: 1 });
    expect(readFileSync(join(T, 'b-ociarchive/rootfs/hello'), 'utf8')).toBe('world');
    expect(readdirSync(join(T, 'b-ociarchive'))).toEqual(['config.json', 'rootfs']); // the scratch copy is gone
  });

  it('a docker archive whose second layer is a symlink to the first', async () => {
    const config = Buffer.from(JSON.stringify({ config: { Cmd: ['/hello'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`, `sha256:${sha(layer)}`] } }));
    const file = join(T, 'dedup.tar');
    writeFileSync(
      file,
      tarBytes([
        { path: 'c.json', data: config },
        { path: 'aaa/layer.tar', data: layer },
        { path: 'bbb/layer.tar', type: 'SymbolicLink', linkpath: '../aaa/layer.tar' },
        { path: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['dedup:1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }]) },
      ]),
    );
    const r = await importBundle({ source: `${file}:dedup:1`, bundleDir: join(T, 'b-dedup'), sys });
    expect(r).toMatchObject({ ref: 'dedup:1', layers: 2 });
  });
});
