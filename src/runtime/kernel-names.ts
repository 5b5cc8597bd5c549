import { TsrunError } from '../errors.js';
import type { Process } from '../spec/types.js';
import { capNumber } from './capabilities.js';
import { RLIMIT } from '../sys/constants.js';

// Names in process that must map to a kernel interface (runtime-spec: a value that
// cannot be mapped MUST be an error). Checked at create, so a typo fails there, with
// its JSON path, instead of in the init after start or not at all.

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/** Throws for an rlimit type or a capability name that Linux does not have. */
export function checkKernelNames(proc: Process | undefined, file: string): void {
  const bad = (jsonPath: string, what: string, hint: string): TsrunError =>
    new TsrunError('SPEC_INVALID', `${file}: ${jsonPath}: ${what}`, { file, jsonPath, hint });
  (proc?.rlimits ?? []).forEach((r, i) => {
    if (RLIMIT[r.type] === undefined) {
      throw bad(`process.rlimits[${i}].type`, `unknown resource ${JSON.stringify(r.type)}`, `one of ${Object.keys(RLIMIT).join(', ')}`);
    }
  });
  // A name Linux has but this kernel does not (newer than cap_last_cap) is only
  // skipped with a warning, like runc: profiles written for newer kernels still run.
  for (const set of CAP_SETS) {
    (proc?.capabilities?.[set] ?? []).forEach((name, i) => {
      if (capNumber(name) === undefined) {
        throw bad(`process.capabilities.${set}[${i}]`, `unknown capability ${JSON.stringify(name)}`, 'capability names are those of capabilities(7), e.g. CAP_NET_BIND_SERVICE');
      }
    });
  }
}
