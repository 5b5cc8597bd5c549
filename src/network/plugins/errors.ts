import { TsrunError } from '../../errors.js';

// CNI error codes (spec "Error codes"); the reference plugins answer most
// failures with 999 ("internal"), so that is the default here too.

export const CNI_CODE = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  INTERNAL: 999,
} as const;

/** A plugin failure carrying its CNI code. */
export function cniError(msg: string, code: number = CNI_CODE.INTERNAL, cause?: unknown): TsrunError {
  return new TsrunError('CNI_PLUGIN', msg, { cniCode: code, cause });
}

/** A bad config. The reference plugins answer these with 999, not 7: so do we, for the same codes. */
export function configError(msg: string): TsrunError {
  return cniError(msg, CNI_CODE.INTERNAL);
}
