import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { blobPath, parseJson, readVerified } from './digest.js';
import { imageError } from './errors.js';
import { pickImage, type Candidate } from './reference.js';
import type { ImageConfigFile, ImageSource, LayerBlob } from './source.js';

// An OCI image layout (image-spec image-layout.md): "oci-layout", index.json,
// and every blob under blobs/<alg>/<hex>. index.json → manifest (or an index
// of per-platform manifests) → config + layers; each blob's size and digest
// is checked as it is read (layers while they are unpacked).

const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};
const REF_NAME = 'org.opencontainers.image.ref.name';

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

interface IndexJson {
  manifests?: Descriptor[];
}
interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

function readBlob<T>(dir: string, desc: Descriptor, what: string): T {
  const path = blobPath(dir, desc.digest, what);
  return parseJson(readVerified(path, desc.digest, desc.size), path) as T;
}

const isIndex = (mt: string | undefined): boolean => mt === MT.index || mt === MT.dockerList;

/** An index inside the index: pick this host's platform. */
function platformManifest(dir: string, desc: Descriptor): Descriptor {
  const index = readBlob<ManifestJson>(dir, desc, `index ${desc.digest}`);
  const arch = GO_ARCH[process.arch] ?? process.arch;
  const all = index.manifests ?? [];
  const match = all.find((m) => !isIndex(m.mediaType) && (m.platform?.os ?? 'linux') === 'linux' && (m.platform?.architecture ?? arch) === arch);
  if (!match) {
    const have = all.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ');
    throw imageError(`index ${desc.digest}: no manifest for linux/${arch} (has ${have || 'none'})`);
  }
  return match;
}

export function readOciLayout(dir: string, tag: string | undefined): ImageSource {
  if (!existsSync(join(dir, 'oci-layout'))) {
    throw imageError(`${dir}: not an OCI image layout (no "oci-layout" file)`, dir, 'give an OCI layout directory or a docker-archive tar');
  }
  const indexPath = join(dir, 'index.json');
  const index = parseJson(readVerified(indexPath, undefined, undefined), indexPath) as IndexJson;
  if (!Array.isArray(index.manifests)) throw imageError(`${indexPath}: no "manifests" array`, indexPath);
  const cands: Candidate<Descriptor>[] = index.manifests.map((d) => ({ tags: d.annotations?.[REF_NAME] ? [d.annotations[REF_NAME]] : [], value: d }));
  const picked = pickImage(cands, tag, dir);
  let desc = picked.value;
  if (isIndex(desc.mediaType)) desc = platformManifest(dir, desc);
  const manifest = readBlob<ManifestJson>(dir, desc, `manifest ${desc.digest}`);
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw imageError(`manifest ${desc.digest}: needs "config" and "layers"`, blobPath(dir, desc.digest, 'manifest'));
  }
  const config = readBlob<ImageConfigFile>(dir, manifest.config, `config ${manifest.config.digest}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw imageError(`config ${manifest.config.digest}: ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  }
  const layers: LayerBlob[] = manifest.layers.map((l, i) => {
    const path = blobPath(dir, l.digest, `layer ${i + 1}`);
    if (!existsSync(path)) throw imageError(`${path}: missing blob ${l.digest} (layer ${i + 1})`, path);
    if (l.mediaType?.endsWith('+zstd')) throw imageError(`layer ${i + 1} (${l.digest}): zstd-compressed layers are not supported`);
    return { path, mediaType: l.mediaType, digest: l.digest, diffId: diffIds[i] };
  });
  return { ref: picked.ref, config, layers };
}
