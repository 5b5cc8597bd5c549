import { defaultSpec } from '../spec/defaults.js';
import type { Spec } from '../spec/types.js';
import type { ImageConfigFile } from './source.js';
import { resolveUser } from './user.js';

// The bundle's config.json: tsrun's default spec (what `tsrun spec` writes)
// with the image config applied, as docker/podman would run it without flags:
// Entrypoint + Cmd → process.args, Env → process.env (PATH added if missing),
// WorkingDir → process.cwd, User → process.user, no terminal, a writable root;
// ExposedPorts, StopSignal and Labels → annotations.

export const ANNOTATIONS = {
  exposedPorts: 'org.opencontainers.image.exposedPorts',
  stopSignal: 'org.opencontainers.image.stopSignal',
  refName: 'org.opencontainers.image.ref.name',
  os: 'org.opencontainers.image.os',
  architecture: 'org.opencontainers.image.architecture',
} as const;

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BundleConfig {
  spec: Spec;
  warnings: string[];
}

export function specFromImage(image: ImageConfigFile, rootfs: string, ref: string | undefined): BundleConfig {
  const c = image.config ?? {};
  const warnings: string[] = [];
  const spec = defaultSpec({ terminal: false });
  const proc = spec.process!;
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (args.length) proc.args = args;
  else warnings.push(`the image has no Entrypoint or Cmd: process.args is ${JSON.stringify(proc.args)}`);
  const env = [...(c.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  proc.env = env;
  if (c.WorkingDir) proc.cwd = c.WorkingDir.startsWith('/') ? c.WorkingDir : `/${c.WorkingDir}`;
  proc.user = resolveUser(rootfs, c.User);
  spec.root = { path: 'rootfs', readonly: false };

  const annotations: Record<string, string> = { ...(c.Labels ?? {}) };
  const ports = Object.keys(c.ExposedPorts ?? {});
  if (ports.length) annotations[ANNOTATIONS.exposedPorts] = ports.join(',');
  if (c.StopSignal) annotations[ANNOTATIONS.stopSignal] = c.StopSignal;
  if (ref) annotations[ANNOTATIONS.refName] = ref;
  if (image.os) annotations[ANNOTATIONS.os] = image.os;
  if (image.architecture) annotations[ANNOTATIONS.architecture] = image.architecture;
  if (Object.keys(annotations).length) spec.annotations = annotations;
  return { spec, warnings };
}
