import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

// Images built inside the tests (no registry is reachable): tar bytes written
// header by header with tar's Header (so entries a careful packer would
// refuse — "../x", "/abs", links out — can be made), then an OCI image layout
// or a docker-archive tar around them.

export type EntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';

export interface TarEntry {
  path: string;
  type?: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  data?: Buffer | string;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
}

export const MTIME = new Date('2024-01-02T03:04:05Z');

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

export function tarBytes(entries: TarEntry[], opts: { trailer?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'File';
    const data = type === 'File' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const block = Buffer.alloc(512);
    const h = new Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: data.length,
      mtime: MTIME,
      linkpath: e.linkpath,
      devmaj: e.devmaj ?? 0,
      devmin: e.devmin ?? 0,
      uname: '',
      gname: '',
    });
    h.encode(block, 0);
    out.push(block, data, pad(data.length));
  }
  if (opts.trailer !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface ImageSpec {
  /** tags (OCI ref.name or docker RepoTags) */
  tags: string[];
  /** layer tars, lowest first; gzip each one or not */
  layers: { tar: Buffer; gzip?: boolean }[];
  config: Record<string, unknown>;
}

function configBlob(img: ImageSpec): Buffer {
  const diffIds = img.layers.map((l) => `sha256:${sha(l.tar)}`);
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: img.config, rootfs: { type: 'layers', diff_ids: diffIds } }));
}

function layerBlob(l: { tar: Buffer; gzip?: boolean }): Buffer {
  return l.gzip ? gzipSync(l.tar) : l.tar;
}

/** Writes an OCI image layout into `dir`; returns the digests written (to corrupt them in tests). */
export function writeOciLayout(dir: string, images: ImageSpec[]): { manifests: string[]; layers: string[][] } {
  const blobs = join(dir, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const hex = sha(b);
    writeFileSync(join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const index: unknown[] = [];
  const result = { manifests: [] as string[], layers: [] as string[][] };
  for (const img of images) {
    const config = put(configBlob(img));
    const layers = img.layers.map((l) => ({
      mediaType: l.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      ...put(layerBlob(l)),
    }));
    const manifest = put(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })),
    );
    result.manifests.push(manifest.digest);
    result.layers.push(layers.map((l) => l.digest));
    for (const tag of img.tags.length ? img.tags : [undefined]) {
      index.push({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        ...(tag ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {}),
      });
    }
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: index }));
  return result;
}

/** A `docker save` style archive (legacy layout: <id>/layer.tar, <hex>.json, manifest.json last). */
export function dockerArchive(images: ImageSpec[], opts: { manifest?: boolean } = {}): Buffer {
  const entries: TarEntry[] = [];
  const manifest: unknown[] = [];
  for (const img of images) {
    const config = configBlob(img);
    const configName = `${sha(config)}.json`;
    entries.push({ path: configName, data: config });
    const layers = img.layers.map((l) => {
      const blob = layerBlob(l);
      const id = sha(Buffer.concat([blob, Buffer.from(configName)]));
      entries.push({ path: `${id}/`, type: 'Directory' }, { path: `${id}/layer.tar`, data: blob });
      return `${id}/layer.tar`;
    });
    manifest.push({ Config: configName, RepoTags: img.tags, Layers: layers });
  }
  if (opts.manifest !== false) entries.push({ path: 'manifest.json', data: JSON.stringify(manifest) });
  return tarBytes(entries);
}

/** Every path under `dir` with what it is, for exact comparisons ("nothing else changed"). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const full = rel ? join(dir, rel) : dir;
    const st = lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    let what: string;
    if (st.isDirectory()) what = `dir ${mode}`;
    else if (st.isSymbolicLink()) what = `link -> ${readlinkSync(full)}`;
    else if (st.isFile()) what = `file ${mode} ${st.size}B nlink=${st.nlink}`;
    else if (st.isCharacterDevice()) what = `char ${mode} ${Number(st.rdev >> 8) & 0xfff}:${st.rdev & 0xff}`;
    else if (st.isBlockDevice()) what = `block ${mode} ${Number(st.rdev >> 8) & 0xfff}:${st.rdev & 0xff}`;
    else if (st.isFIFO()) what = `fifo ${mode}`;
    else what = 'other';
    out[rel || '.'] = `${what} ${st.uid}:${st.gid}`;
    if (st.isDirectory()) for (const n of readdirSync(full).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}
