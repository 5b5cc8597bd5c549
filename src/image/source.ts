// What an image reader (OCI layout, docker archive) hands to the importer.

export interface LayerBlob {
  /** the layer's file (tar, possibly gzip-compressed) */
  path: string;
  mediaType?: string;
  /** digest of the blob as stored (OCI manifests give it) */
  digest?: string;
  /** digest of the uncompressed tar (the image config's rootfs.diff_ids) */
  diffId?: string;
}

/** The parts of an image config (image-spec config.md) that become the bundle's config.json. */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
}

export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  config?: ImageConfig;
  rootfs?: { type?: string; diff_ids?: string[] };
}

export interface ImageSource {
  /** the tag it was picked by, if any */
  ref?: string;
  config: ImageConfigFile;
  layers: LayerBlob[];
}
