import { TsrunError } from '../errors.js';
import type { Process } from '../spec/types.js';
import { RLIMIT } from '../sys/constants.js';

// Names in process that must map to a kernel interface. Checked at create, so a
// typo fails there, with its JSON path, instead of in the container after start.
// Capability names are not checked here: the runtime-spec makes an unknown or
// ungrantable capability a warning (see capMasks), as runc and crun do.

/** Throws for an rlimit type that Linux does not have. */
export function checkKernelNames(proc: Process | undefined, file: string): void {
  const bad = (jsonPath: string, what: string, hint: string): TsrunError =>
    new TsrunError('SPEC_INVALID', `${file}: ${jsonPath}: ${what}`, { file, jsonPath, hint });
  (proc?.rlimits ?? []).forEach((r, i) => {
    if (RLIMIT[r.type] === undefined) {
      throw bad(`process.rlimits[${i}].type`, `unknown resource ${JSON.stringify(r.type)}`, `one of ${Object.keys(RLIMIT).join(', ')}`);
    }
  });
}
