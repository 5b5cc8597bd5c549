import { fstatSync } from 'node:fs';
import { TsrunError } from '../errors.js';

// --preserve-fds N of create, run and exec: fds 3 … 3+N-1 of tsrun go on to
// the container's process. Checked before anything starts.

export function preservedFdCount(n: number | undefined): number {
  const count = n ?? 0;
  if (count < 0) throw new TsrunError('BAD_INPUT', `invalid value for preserve-fds: expected 0 or more, got ${count}`);
  for (let fd = 3; fd < 3 + count; fd++) {
    try {
      fstatSync(fd);
    } catch {
      throw new TsrunError('BAD_INPUT', `--preserve-fds ${count}: fd ${fd} is not open`);
    }
  }
  return count;
}
