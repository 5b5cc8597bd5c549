import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseJson, readVerified } from './digest.js';
import { escapeError, imageError } from './errors.js';
import { readOciLayout } from './layout.js';
import { cleanEntryPath } from './paths.js';
import { pickImage, type Candidate } from './reference.js';
import type { ImageConfigFile, ImageSource, LayerBlob } from './source.js';

// A `docker save` / `podman save` archive: manifest.json lists, per image, its
// RepoTags, its config file and its layer tars, all by path inside the archive.
// The archive's regular files are copied into a scratch directory first
// (manifest.json usually comes last); symlinks (older docker dedups identical
// layers with them) are remembered and resolved by name, never created. An
// archive with index.json and no manifest.json (an OCI archive) is read as a layout.

interface ManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/** Copies the archive's files into `scratch`; returns its symlinks (name → cleaned target). */
async function extractArchive(file: string, scratch: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const parser = new Parser({ strict: true });
  let failure: unknown;
  parser.on('entry', (e: ReadEntry) => {
    try {
      const parts = cleanEntryPath(e.path);
      const name = parts.join('/');
      if (e.type === 'SymbolicLink' && e.linkpath) {
        const target = e.linkpath.startsWith('/') ? e.linkpath : `${dirname(name)}/${e.linkpath}`;
        links.set(name, cleanEntryPath(target).join('/'));
      }
      if ((e.type !== 'File' && e.type !== 'OldFile') || failure || parts.length === 0) return void e.resume();
      const dest = join(scratch, name);
      mkdirSync(dirname(dest), { recursive: true });
      const fd = openSync(dest, 'wx', 0o600);
      e.on('data', (c: Buffer) => {
        try {
          writeSync(fd, c);
        } catch (err) {
          failure ??= err;
        }
      });
      e.on('end', () => closeSync(fd));
    } catch (err) {
      failure ??= err;
      e.resume();
    }
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('error', (err: Error) => reject(imageError(`${file}: not a valid tar archive: ${err.message}`, file)));
    parser.on('end', () => resolve());
  });
  done.catch(() => {});
  await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
    parser.end();
    await done;
  });
  if (failure) throw failure;
  return links;
}

/** A path named by manifest.json, through the archive's symlinks, as a file in scratch. */
function member(scratch: string, links: Map<string, string>, name: string, what: string): string {
  let clean = cleanEntryPath(name).join('/');
  for (let hops = 0; links.has(clean); hops++) {
    if (hops > 40) throw escapeError(name, 'symlink loop in the archive');
    clean = links.get(clean)!;
  }
  const path = join(scratch, clean);
  if (!clean || !existsSync(path)) throw imageError(`${what} "${name}" is missing from the archive`);
  return path;
}

/** The config's digest when its name carries one ("<hex>.json", "blobs/sha256/<hex>"). */
function configDigest(name: string): string | undefined {
  const m = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(name);
  return m ? `sha256:${m[1]}` : undefined;
}

export async function readDockerArchive(file: string, scratch: string, tag: string | undefined): Promise<ImageSource> {
  mkdirSync(scratch, { recursive: true });
  const links = await extractArchive(file, scratch);
  const manifestPath = join(scratch, 'manifest.json');
  if (!existsSync(manifestPath)) {
    if (existsSync(join(scratch, 'index.json'))) return readOciLayout(scratch, tag);
    throw imageError(`${file}: no manifest.json (docker save) or index.json (OCI archive) in the archive`, file);
  }
  const manifest = parseJson(readVerified(manifestPath, undefined, undefined), `${file}:manifest.json`);
  if (!Array.isArray(manifest)) throw imageError(`${file}: manifest.json is not a list of images`, file);
  const cands: Candidate<ManifestEntry>[] = (manifest as ManifestEntry[]).map((m) => ({ tags: m.RepoTags ?? [], value: m }));
  const picked = pickImage(cands, tag, file);
  const entry = picked.value;
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
    throw imageError(`${file}: manifest.json entry needs "Config" and "Layers"`, file);
  }
  const configPath = member(scratch, links, entry.Config, 'config');
  const config = parseJson(readVerified(configPath, configDigest(entry.Config), undefined), entry.Config) as ImageConfigFile;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw imageError(`${file}: config has ${diffIds.length} diff_ids for ${entry.Layers.length} layers`, file);
  }
  const layers: LayerBlob[] = entry.Layers.map((name, i) => ({ path: member(scratch, links, name, `layer ${i + 1}`), diffId: diffIds[i] }));
  return { ref: picked.ref, config, layers };
}
