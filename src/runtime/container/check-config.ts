import { TsrunError } from '../../errors.js';
import type { Spec } from '../../spec/types.js';
import { RLIMIT } from '../../sys/constants.js';

// What the schema lets through but no container can be made from: each fails
// `create` before anything exists, naming the file and the JSON path.

export function checkConfig(spec: Spec, file: string): void {
  const bad = (jsonPath: string, what: string): TsrunError => new TsrunError('SPEC_INVALID', `${file}: ${jsonPath}: ${what}`, { file, jsonPath });
  const seen = new Map<string, number>();
  (spec.linux?.namespaces ?? []).forEach((n, i) => {
    const first = seen.get(n.type);
    if (first !== undefined) throw bad(`linux.namespaces[${i}]`, `namespace type "${n.type}" is already listed at linux.namespaces[${first}]`);
    seen.set(n.type, i);
  });
  (spec.mounts ?? []).forEach((m, i) => {
    if (!m.destination.startsWith('/')) throw bad(`mounts[${i}].destination`, `"${m.destination}" is not an absolute path`);
  });
  (spec.process?.rlimits ?? []).forEach((r, i) => {
    if (RLIMIT[r.type] === undefined) throw bad(`process.rlimits[${i}].type`, `unknown resource "${r.type}"`);
  });
}
