import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../../errors.js';

// `exec --cgroup [controller[,controller]:]path`: run in an existing sub-cgroup
// of the container's own, in every hierarchy or only the named ones. Co-mounted
// controllers (cpu,cpuacct) share a directory, so naming one moves both.

export function subCgroupPaths(paths: Record<string, string>, specs: string[]): Record<string, string> {
  const out = { ...paths };
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
    const controllers = colon >= 0 ? spec.slice(0, colon).split(',') : Object.keys(paths);
    const parts = sub.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0 || parts.includes('..')) {
      throw new TsrunError('BAD_INPUT', `--cgroup ${spec}: expected a sub-cgroup path below the container's cgroup`);
    }
    for (const c of controllers) {
      const dir = paths[c];
      if (dir === undefined) throw new TsrunError('BAD_INPUT', `--cgroup ${spec}: the container has no "${c}" cgroup`);
      const target = join(dir, ...parts);
      if (!existsSync(target)) throw new TsrunError('NOT_FOUND', `--cgroup ${spec}: ${target} does not exist`, { file: target });
      for (const [key, d] of Object.entries(paths)) if (d === dir) out[key] = target;
    }
  }
  return out;
}
