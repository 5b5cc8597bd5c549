import { TsrunError, wrap } from '../../errors.js';
import type { LinuxResources } from '../../spec/types.js';
import { applyUpdate, completeUpdate, modeOf, updatePlan } from '../cgroups/index.js';
import { saveRecord, withLock } from '../state-store.js';
import { checkLive } from '../status.js';
import type { Context } from './context.js';
import { inspect } from './inspect.js';

// update: new cgroup limits for a created, running or paused container (a frozen
// cgroup takes writes like any other). The record keeps the merged resources,
// so the next update and `delete` see what is in force.

/** Where a field of linux.resources came from on the command line, for errors. */
export type FieldNamer = (jsonPath: string) => string | undefined;

/** `b` over `a`, one level deep per resource group (memory, cpu, …). */
export function mergeResources(a: LinuxResources | undefined, b: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...(a ?? {}) };
  for (const [key, value] of Object.entries(b)) {
    const old = out[key];
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && old && typeof old === 'object' && !Array.isArray(old) ? { ...old, ...value } : value;
  }
  return out as LinuxResources;
}

export async function updateContainer(ctx: Context, id: string, delta: LinuxResources, nameOf: FieldNamer = () => undefined): Promise<void> {
  await withLock(ctx.sys, ctx.root, id, async () => {
    const c = inspect(ctx.root, id);
    checkLive(id, c.status, 'update');
    const paths = c.record.cgroupPaths;
    if (!paths) throw new TsrunError('NOT_SUPPORTED', `container "${id}" has no cgroup to update`);
    const mode = modeOf(paths);
    try {
      const plan = updatePlan(mode, completeUpdate(mode, paths, delta));
      for (const s of plan.skipped) ctx.log.warn(`${nameOf(s.jsonPath) ?? s.jsonPath}: ignored: ${s.reason}`);
      applyUpdate(ctx.sys, paths, plan.writes);
    } catch (err) {
      const flag = err instanceof TsrunError && err.jsonPath ? nameOf(err.jsonPath) : undefined;
      throw flag ? wrap(err, flag) : err;
    }
    const spec = c.record.spec;
    saveRecord(ctx.sys, ctx.root, { ...c.record, spec: { ...spec, linux: { ...spec.linux, resources: mergeResources(spec.linux?.resources, delta) } } });
  });
}
