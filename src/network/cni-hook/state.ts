import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TsrunError } from '../../errors.js';
import type { OciState } from '../../spec/state.js';
import type { Stage } from './options.js';

// What the hook learns from its stdin (the OCI state) and from the bundle's
// config.json. The config is read loosely, not validated: the hook also runs
// under runc and crun, whose bundles may use fields tsrun's schema does not know.

export function parseState(text: string): OciState {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    throw new TsrunError('BAD_INPUT', `hook cni: the OCI state on stdin is not JSON: ${(err as Error).message}`);
  }
  const s = j as Partial<OciState>;
  if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || !s.id || typeof s.bundle !== 'string') {
    throw new TsrunError('BAD_INPUT', 'hook cni: the OCI state on stdin needs "id" and "bundle"');
  }
  return s as OciState;
}

/**
 * Which half to run: an explicit --stage wins; otherwise "stopped" (poststop)
 * tears down and "creating"/"created" (createRuntime, prestart) sets up.
 */
export function stageOf(state: OciState, explicit: Stage | undefined): Stage {
  if (explicit) return explicit;
  if (state.status === 'stopped') return 'teardown';
  if (state.status === 'creating' || state.status === 'created') return 'setup';
  throw new TsrunError('BAD_INPUT', `hook cni: cannot tell setup from teardown for status "${state.status}"`, {
    hint: 'use it as a createRuntime/prestart and a poststop hook, or pass --stage setup|teardown',
  });
}

export interface BundleFacts {
  rootfs: string;
  hostname?: string;
}

export function readBundle(bundle: string): BundleFacts {
  const file = join(bundle, 'config.json');
  let cfg: { root?: { path?: unknown }; hostname?: unknown };
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TsrunError('SPEC_INVALID', `hook cni: read ${file}: ${(err as Error).message}`, { file });
  }
  const path = cfg.root?.path;
  if (typeof path !== 'string' || !path) throw new TsrunError('SPEC_INVALID', `hook cni: ${file}: root.path is missing`, { file, jsonPath: 'root.path' });
  return {
    rootfs: isAbsolute(path) ? path : resolve(bundle, path),
    hostname: typeof cfg.hostname === 'string' && cfg.hostname ? cfg.hostname : undefined,
  };
}
