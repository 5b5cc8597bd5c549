import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsrunError, errorMessage } from '../errors.js';
import type { Hook, Spec } from '../spec/types.js';
import { containerDir } from '../runtime/state-store.js';
import { inspect } from '../runtime/container/inspect.js';
import type { Context } from '../runtime/container/context.js';
import { DEFAULT_CACHE_DIR } from './cni/cache.js';
import { hookArgs, parseHookArgs, parsePublish, type HookOptions } from './hook/options.js';
import { readRecord } from './hook/record.js';
import { teardownNetwork } from './hook/teardown.js';

// `tsrun run --net …` (or the org.tsrun.network annotation) turned into
// changes of the validated spec, made in memory through CreateOptions.adjustSpec
// (config.json on disk is never edited):
//   NAME            a new netns + `tsrun hook cni` as createRuntime and poststop hooks
//   none            a new netns with only loopback up (the hook with --network none)
//   host            no network namespace: the host's network
//   container:ID    join container ID's netns (/proc/<pid>/ns/net)

export const NETWORK_ANNOTATION = 'org.tsrun.network';
/** optional, with the annotation: "18080:80,53:53/udp" */
export const PUBLISH_ANNOTATION = 'org.tsrun.publish';

const HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// The hook runs the same CLI that is running now (bundled dist/tsrun.js or dist/cli/main.js).
const CLI_MAIN = /(?:tsrun|cli\/main)\.js$/.test(process.argv[1] ?? '') ? resolve(process.argv[1]!) : fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface NetRequest {
  net?: string;
  publish?: string[];
  confDir?: string;
  cniPath?: string;
  cacheDir?: string;
}

export interface NetPlan {
  adjustSpec: (spec: Spec) => Spec;
  /** after a failed run: tears down what the hook set up when the container is gone */
  cleanupAfterFailure: (id: string) => Promise<void>;
}

/** The hook entry that runs `tsrun hook cni` with these options. */
export function cniHook(o: HookOptions, explain?: 'text' | 'json'): Hook {
  // Under --explain the hook reports its own calls as JSON on stderr; the runtime shows them.
  const global = explain ? ['--explain=json'] : [];
  return { path: process.execPath, args: [process.execPath, CLI_MAIN, ...global, 'hook', 'cni', ...hookArgs(o)], env: [`PATH=${process.env.PATH || HOOK_PATH}`] };
}

function withNetns(spec: Spec, path?: string): Spec {
  const others = (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'network');
  return { ...spec, linux: { ...spec.linux, namespaces: [...others, path ? { type: 'network', path } : { type: 'network' }] } };
}

function withoutNetns(spec: Spec): Spec {
  return { ...spec, linux: { ...spec.linux, namespaces: (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'network') } };
}

function withHooks(spec: Spec, hook: Hook, teardown: boolean): Spec {
  const hooks = { ...spec.hooks };
  hooks.createRuntime = [...(hooks.createRuntime ?? []), hook];
  if (teardown) hooks.poststop = [hook, ...(hooks.poststop ?? [])];
  return { ...spec, hooks };
}

export function planNetwork(ctx: Pick<Context, 'root' | 'sys' | 'log' | 'explain'>, req: NetRequest): NetPlan {
  let chosen: HookOptions | undefined;
  const adjustSpec = (spec: Spec): Spec => {
    const annotations = (spec.annotations ?? {}) as Record<string, string>;
    const net = req.net ?? annotations[NETWORK_ANNOTATION];
    const publish = req.publish?.length ? req.publish : (annotations[PUBLISH_ANNOTATION]?.split(',').filter(Boolean) ?? []);
    if (!net) {
      if (publish.length) throw new TsrunError('BAD_INPUT', '--publish needs a network: add --net NAME');
      return spec;
    }
    const hasOwnNetns = (spec.linux?.namespaces ?? []).some((n) => n.type === 'network' && n.path);
    if (net === 'host' || net.startsWith('container:')) {
      if (publish.length) throw new TsrunError('BAD_INPUT', `--publish cannot be used with --net ${net}`);
      if (net === 'host') return withoutNetns(spec);
      return withNetns(spec, netnsOfContainer(ctx.root, net.slice('container:'.length)));
    }
    if (hasOwnNetns) {
      throw new TsrunError('SPEC_INVALID', `--net ${net} needs a new network namespace, but the config joins one`, { jsonPath: 'linux.namespaces' });
    }
    const args = ['--network', net, '--ifname', 'eth0', ...publish.flatMap((p) => ['-p', p])];
    if (req.confDir) args.push('--conf-dir', resolve(req.confDir));
    if (req.cniPath) args.push('--cni-path', req.cniPath);
    if (req.cacheDir) args.push('--cache-dir', resolve(req.cacheDir));
    publish.forEach(parsePublish); // reject a bad -p before anything runs
    chosen = parseHookArgs(args);
    return withHooks(withNetns(spec), cniHook(chosen, ctx.explain), net !== 'none');
  };
  const cleanupAfterFailure = async (id: string): Promise<void> => {
    if (!chosen || chosen.network === 'none' || existsSync(containerDir(ctx.root, id))) return;
    try {
      await teardownNetwork({ sys: ctx.sys, warn: ctx.log.warn }, id, { cacheDir: chosen.cacheDir, cniPath: chosen.cniPath });
    } catch (err) {
      ctx.log.warn(`network teardown after failed run: ${errorMessage(err)}`);
    }
  };
  return { adjustSpec, cleanupAfterFailure };
}

function netnsOfContainer(root: string, id: string): string {
  const c = inspect(root, id);
  if (c.status !== 'created' && c.status !== 'running' && c.status !== 'paused') {
    throw new TsrunError('BAD_STATE', `--net container:${id}: the container is ${c.status}`, { hint: 'its network namespace lives only while it runs' });
  }
  return `/proc/${c.record.pid}/ns/net`;
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
      if (o.network !== 'none') seen.set(`${o.cacheDir}\0${o.network}\0${o.ifName}`, o);
    } catch {
      // not a hook we can read: nothing of ours to tear down
    }
  }
  return [...seen.values()];
}

/**
 * What `tsrun delete` adds after the poststop hooks: DEL of whatever the
 * container still has cached (its poststop never ran, or failed), then the
 * netns handle. A no-op when poststop already did it. With the state gone
 * (`delete --force` of an unknown id), looks for the hook's record in the
 * default cache dir. Errors are returned, not thrown: delete keeps going.
 */
export async function teardownLeftovers(ctx: Pick<Context, 'sys' | 'log'>, id: string, spec: Spec | undefined): Promise<unknown[]> {
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
