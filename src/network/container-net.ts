import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import type { OciState } from '../spec/state.js';
import type { Spec } from '../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { DEFAULT_CACHE_DIR } from './cni/cache.js';
import { DEFAULT_CONF_DIR } from './cni/conf.js';
import { DEFAULT_CNI_PATH } from './cni/exec.js';
import { etcMounts, madeTargetsOf, prepareTargets, removeCreated, type MadeTargets } from './cni-hook/etc-mounts.js';
import { parseHookArgs, parseNetworks, parsePublish, type HookOptions } from './cni-hook/options.js';
import { readRecord } from './cni-hook/record.js';
import { setupNetwork, type HookDeps } from './cni-hook/setup.js';
import { readBundle } from './cni-hook/state.js';
import { teardownNetwork } from './cni-hook/teardown.js';

// `tsrun run --net …` (or the org.tsrun.network annotation), run in the CLI's
// own process: no hook process. It becomes
//   - changes of the validated spec (CreateOptions.adjustSpec; config.json on
//     disk is never edited): a new netns, and bind mounts of the container's
//     own resolv.conf and hosts over the image's;
//   - in-process createRuntime and poststop hooks (CreateOptions.inProcessHooks)
//     that run the CNI chains and tear them down.
// A note in the container's state dir (<state>/net/network.json) lets a later
// `tsrun delete` (another process) find what to tear down.
//   NAME[,NAME2…]   CNI networks in order: eth0, eth1, … (NAME:ifname=IF names one)
//   none            a new netns with only loopback up
//   host            no network namespace: the host's network
//   container:ID    join container ID's netns, and its resolv.conf and hosts
// This module knows nothing of the runtime: the caller says where the state
// dirs are and how to find another container.

export const NETWORK_ANNOTATION = 'org.tsrun.network';
/** optional, with the annotation: "18080:80,53:53/udp" */
export const PUBLISH_ANNOTATION = 'org.tsrun.publish';

export interface NetRequest {
  /** --net, repeated; each may also be a comma-separated list */
  nets?: string[];
  publish?: string[];
  confDir?: string;
  cniPath?: string;
  cacheDir?: string;
}

export interface ContainerDirs {
  /** the container's state dir: its network files and note go in <stateDir>/net */
  stateDir: string;
  /** --net container:ID: the other container's netns path and state dir; throws when it is not alive */
  peer(id: string): { netns: string; stateDir: string };
}

/** Same shape as the runtime's CreateOptions.inProcessHooks. */
export interface InProcessHooks {
  createRuntime?: (state: OciState) => Promise<void>;
  poststop?: (state: OciState) => Promise<void>;
}

export interface NetPlan {
  adjustSpec: (spec: Spec) => Spec;
  hooks: InProcessHooks;
}

/** What the state dir remembers for a later delete. */
interface Note {
  /** the CNI cache holding the hook record and results */
  cacheDir?: string;
  /** created in the rootfs to mount the peer's files over (container:ID) */
  created?: MadeTargets;
}

export type NetDeps = HookDeps;

export const netDir = (stateDir: string): string => join(stateDir, 'net');
const noteFile = (stateDir: string): string => join(netDir(stateDir), 'network.json');

function writeNote(stateDir: string, note: Note): void {
  mkdirSync(netDir(stateDir), { recursive: true, mode: 0o755 });
  writeFileSync(noteFile(stateDir), JSON.stringify(note), { mode: 0o600 });
}

export function readNetworkNote(stateDir: string): Note | undefined {
  try {
    return JSON.parse(readFileSync(noteFile(stateDir), 'utf8')) as Note;
  } catch {
    return undefined;
  }
}

/** Whether a container's state dir says it has a network to tear down (cheap: no CNI code loaded). */
export const hasNetworkNote = (stateDir: string): boolean => existsSync(noteFile(stateDir));

function withNetns(spec: Spec, path?: string): Spec {
  const others = (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'network');
  return { ...spec, linux: { ...spec.linux, namespaces: [...others, path ? { type: 'network', path } : { type: 'network' }] } };
}

function withoutNetns(spec: Spec): Spec {
  return { ...spec, linux: { ...spec.linux, namespaces: (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'network') } };
}

const withMounts = (spec: Spec, dir: string): Spec => ({ ...spec, mounts: [...(spec.mounts ?? []), ...etcMounts(dir)] });

export function planNetwork(deps: NetDeps, req: NetRequest, dirs: ContainerDirs): NetPlan {
  let chosen: HookOptions | undefined;
  let peerFiles = false;
  let created: MadeTargets | undefined;
  const adjustSpec = (spec: Spec): Spec => {
    const annotations = (spec.annotations ?? {}) as Record<string, string>;
    const given = req.nets?.length ? req.nets : annotations[NETWORK_ANNOTATION] ? [annotations[NETWORK_ANNOTATION]] : [];
    const nets = given.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean);
    const publish = req.publish?.length ? req.publish : (annotations[PUBLISH_ANNOTATION]?.split(',').filter(Boolean) ?? []);
    if (!nets.length) {
      if (publish.length) throw new TsrunError('BAD_INPUT', '--publish needs a network: add --net NAME');
      return spec;
    }
    const special = nets.find((n) => n === 'host' || n.startsWith('container:'));
    if (special) {
      if (nets.length > 1) throw new TsrunError('BAD_INPUT', `--net ${special} cannot be combined with other networks`);
      if (publish.length) throw new TsrunError('BAD_INPUT', `--publish cannot be used with --net ${special}`);
      if (special === 'host') return withoutNetns(spec);
      const peer = dirs.peer(special.slice('container:'.length));
      const joined = withNetns(spec, peer.netns);
      peerFiles = existsSync(join(netDir(peer.stateDir), 'resolv.conf'));
      return peerFiles ? withMounts(joined, netDir(peer.stateDir)) : joined;
    }
    if ((spec.linux?.namespaces ?? []).some((n) => n.type === 'network' && n.path)) {
      throw new TsrunError('SPEC_INVALID', `--net ${nets.join(',')} needs a new network namespace, but the config joins one`, { jsonPath: 'linux.namespaces' });
    }
    const networks = parseNetworks(nets, '--net');
    if (networks[0]!.name === 'none' && publish.length) throw new TsrunError('BAD_INPUT', '--publish cannot be used with --net none');
    const env = process.env;
    chosen = {
      networks,
      confDir: req.confDir ? resolve(req.confDir) : (env.NETCONFPATH ?? DEFAULT_CONF_DIR),
      cniPath: (req.cniPath ?? env.CNI_PATH)?.split(':').filter(Boolean) ?? DEFAULT_CNI_PATH,
      cacheDir: req.cacheDir ? resolve(req.cacheDir) : DEFAULT_CACHE_DIR,
      publish: publish.map(parsePublish), // a bad -p fails before anything runs
    };
    if (networks[0]!.name === 'none') return withNetns(spec);
    return withMounts(withNetns(spec), netDir(dirs.stateDir));
  };

  const createRuntime = async (state: OciState): Promise<void> => {
    if (peerFiles) {
      // The targets the peer's files are mounted over, noted before they are made.
      const rootfs = readBundle(state.bundle).rootfs;
      writeNote(dirs.stateDir, { created: { rootfs, paths: [] } });
      created = prepareTargets(deps.sys, rootfs);
      writeNote(dirs.stateDir, { created });
      return;
    }
    if (!chosen) return;
    if (chosen.networks[0]!.name !== 'none') writeNote(dirs.stateDir, { cacheDir: chosen.cacheDir });
    await setupNetwork(deps, state, chosen, { dir: netDir(dirs.stateDir), mount: 'spec' });
  };

  // In this process the plan is known; the state dir may be gone already (a failed create removes it first).
  const poststop = async (state: OciState): Promise<void> => {
    removeCreated(deps.sys, created, deps.warn);
    if (chosen && chosen.networks[0]!.name !== 'none') await teardownNetwork(deps, state.id, { cacheDir: chosen.cacheDir, cniPath: chosen.cniPath });
  };
  return { adjustSpec, hooks: { createRuntime, poststop } };
}

/**
 * `tsrun delete` of a container networked in-process (maybe by a CLI that is
 * gone): DEL what its note's cache holds for it, remove what was created to
 * mount over. Idempotent.
 */
export async function teardownFromNote(deps: NetDeps, stateDir: string, id: string): Promise<void> {
  const note = readNetworkNote(stateDir);
  if (!note) return;
  removeCreated(deps.sys, madeTargetsOf(note.created), deps.warn);
  if (note.cacheDir) await teardownNetwork(deps, id, { cacheDir: note.cacheDir });
}

/** The `tsrun hook cni` options of each network hook in a spec (duplicates across phases folded). */
export function networkHooksOf(spec: Spec): HookOptions[] {
  const seen = new Map<string, HookOptions>();
  const h = spec.hooks ?? {};
  for (const hook of [...(h.createRuntime ?? []), ...(h.prestart ?? []), ...(h.poststop ?? [])]) {
    const args = hook.args ?? [];
    const at = args.findIndex((a, i) => a === 'hook' && args[i + 1] === 'cni');
    if (at < 0) continue;
    try {
      const env = Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      const o = parseHookArgs(args.slice(at + 2), env);
      if (o.networks[0]!.name !== 'none') seen.set(`${o.cacheDir}\0${o.networks.map((n) => `${n.name}/${n.ifName}`).join(',')}`, o);
    } catch {
      // not a hook we can read: nothing of ours to tear down
    }
  }
  return [...seen.values()];
}

/**
 * What `tsrun delete` adds after the poststop hooks for a config that carries
 * `tsrun hook cni` itself: DEL whatever the container still has cached (its
 * poststop never ran, or failed), then the netns handle. A no-op when poststop
 * already did it. With the state gone (`delete --force` of an unknown id),
 * looks for the hook's record in the default cache dir. Errors are returned,
 * not thrown: delete keeps going.
 */
export async function teardownLeftovers(ctx: { sys: Syscalls; log: { warn(m: string): void } }, id: string, spec: Spec | undefined): Promise<unknown[]> {
  const targets: { cacheDir: string; cniPath?: string[] }[] = spec ? networkHooksOf(spec) : [];
  if (!spec && readRecord(DEFAULT_CACHE_DIR, id)) targets.push({ cacheDir: DEFAULT_CACHE_DIR });
  const errors: unknown[] = [];
  const done = new Set<string>();
  for (const t of targets) {
    if (done.has(t.cacheDir)) continue;
    done.add(t.cacheDir);
    try {
      await teardownNetwork({ sys: ctx.sys, warn: ctx.log.warn }, id, { cacheDir: t.cacheDir, cniPath: t.cniPath });
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}
