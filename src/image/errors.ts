import { TsrunError } from '../errors.js';

// Errors of the image importer: a bad archive, a malicious entry, a missing
// blob. They are all BAD_INPUT (the input file is wrong) and name the file.

export function imageError(message: string, file?: string, hint?: string): TsrunError {
  return new TsrunError('BAD_INPUT', message, { file, hint });
}

/** A tar entry that would write outside the rootfs. */
export function escapeError(entry: string, why: string): TsrunError {
  return new TsrunError('BAD_INPUT', `entry "${entry}": ${why}`, {
    hint: 'the archive tries to write outside the rootfs; it was not imported',
  });
}
