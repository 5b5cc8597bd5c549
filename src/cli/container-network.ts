import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { InProcessHooks, NetPlan, NetRequest } from '../network/container-net.js';
import { TeardownError, TsrunError, errorMessage } from '../errors.js';
import { containerDir, loadRecord } from '../runtime/state-store.js';
import { inspect } from '../runtime/container/inspect.js';
import type { Context } from '../runtime/container/context.js';
import type { Spec } from '../spec/types.js';

// The glue between the runtime and the network half: the CLI knows both, so
// the runtime reaches networks only through the hooks handed to it here, and
// src/network never imports the runtime's state store. The CNI code is loaded
// only when a container asks for a network.

/** adjustSpec + in-process hooks for `run --net` / the org.tsrun.network annotation; loads the CNI code lazily. */
export function networkOptions(ctx: Context, id: string, req: NetRequest): { adjustSpec: (spec: Spec) => Promise<Spec>; inProcessHooks: InProcessHooks } {
  let plan: NetPlan | undefined;
  const wanted = (spec: Spec): boolean => !!(req.nets?.length || req.publish?.length || spec.annotations?.['org.tsrun.network']);
  return {
    adjustSpec: async (spec) => {
      if (!wanted(spec)) return spec;
      const net = await import('../network/container-net.js');
      plan = net.planNetwork({ sys: ctx.sys, warn: (m) => ctx.log.warn(m) }, req, {
        stateDir: containerDir(ctx.root, id),
        peer: (peerId) => {
          const c = inspect(ctx.root, peerId);
          if (c.status !== 'created' && c.status !== 'running' && c.status !== 'paused') {
            throw new TsrunError('BAD_STATE', `--net container:${peerId}: the container is ${c.status}`, { hint: 'its network namespace lives only while it runs' });
          }
          return { netns: `/proc/${c.record.pid}/ns/net`, stateDir: containerDir(ctx.root, peerId) };
        },
      });
      return plan.adjustSpec(spec);
    },
    inProcessHooks: {
      createRuntime: async (state) => plan?.hooks.createRuntime?.(state),
      poststop: async (state) => {
        if (plan) return plan.hooks.poststop?.(state);
        return teardownNetworkOf(ctx, id).poststop?.(state);
      },
    },
  };
}

/**
 * For `tsrun delete`: tears down what an in-process `--net` set up, found
 * through the container's state dir; then, for a config that carries `tsrun
 * hook cni` itself, whatever its poststop hook left (a no-op when it did its
 * job); with the state gone, the hook's record in the default cache.
 */
export function teardownNetworkOf(ctx: Context, id: string): InProcessHooks {
  return {
    poststop: async () => {
      const stateDir = containerDir(ctx.root, id);
      let spec: Spec | undefined;
      try {
        spec = loadRecord(ctx.root, id).spec;
      } catch {
        spec = undefined; // no state: the default cache may still hold the hook's record
      }
      // Checked here so a container without a network never loads the CNI code.
      const noted = existsSync(join(stateDir, 'net', 'network.json'));
      if (!noted && !mayHaveNetworkHook(spec)) return;
      const net = await import('../network/container-net.js');
      const deps = { sys: ctx.sys, warn: (m: string) => ctx.log.warn(m) };
      if (noted) await net.teardownFromNote(deps, stateDir, id);
      const errors = await net.teardownLeftovers(ctx, id, spec);
      if (errors.length) throw new TeardownError(`network of ${id}`, errors.map(errorMessage));
    },
  };
}

/** A config with a `tsrun hook cni` hook of its own (or an unknown one). */
const mayHaveNetworkHook = (spec: Spec | undefined): boolean =>
  !spec ||
  (['createRuntime', 'prestart', 'poststop'] as const).some((phase) => spec.hooks?.[phase]?.some((h) => h.args?.includes('hook') && h.args.includes('cni')));
