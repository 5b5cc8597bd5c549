// One error type for the whole project. `code` is stable and machine-readable;
// `message` names the operation and the object it failed on.

export type ErrorCode =
  | 'SPEC_INVALID' // config.json or another input file is wrong
  | 'BAD_INPUT' // command-line input is wrong (id, signal, flag)
  | 'BAD_STATE' // the container is in a state that does not allow the operation
  | 'NOT_FOUND' // container, file or network does not exist
  | 'EXISTS' // container id already used
  | 'SYSCALL' // a kernel call failed
  | 'INIT' // the container's init process failed or died
  | 'HOOK' // an OCI hook failed
  | 'HOOK_TIMEOUT'
  | 'CNI_PLUGIN' // a CNI plugin returned an error
  | 'CNI_CONFIG'
  | 'NOT_SUPPORTED'
  | 'INTERNAL';

export interface ErrorDetails {
  file?: string;
  jsonPath?: string;
  hint?: string;
  errno?: string;
  cniCode?: number;
  cause?: unknown;
}

export class TsrunError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly jsonPath?: string;
  readonly hint?: string;
  readonly errno?: string;
  readonly cniCode?: number;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TsrunError';
    this.code = code;
    this.file = details.file;
    this.jsonPath = details.jsonPath;
    this.hint = details.hint;
    this.errno = details.errno;
    this.cniCode = details.cniCode;
  }
}

/** Adds context in front of an error's message, keeping its code and errno. */
export function wrap(err: unknown, context: string): TsrunError {
  if (err instanceof TsrunError) {
    return new TsrunError(err.code, `${context}: ${err.message}`, {
      file: err.file,
      jsonPath: err.jsonPath,
      hint: err.hint,
      errno: err.errno,
      cniCode: err.cniCode,
      cause: err,
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new TsrunError('INTERNAL', `${context}: ${msg}`, { cause: err });
}

/** Many failures at once (teardown keeps going and reports all of them). */
export class TeardownError extends TsrunError {
  readonly errors: unknown[];
  constructor(what: string, errors: unknown[]) {
    super('INTERNAL', `${what}: ${errors.map(errorMessage).join('; ')}`);
    this.errors = errors;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The CLI line: `tsrun: <message>` plus an optional hint. */
export function renderText(err: unknown): string {
  const msg = errorMessage(err);
  const hint = err instanceof TsrunError && err.hint ? `\nhint: ${err.hint}` : '';
  return `${msg}${hint}`;
}

/** runc's --log-format json line, read by podman/conmon. */
export function renderJsonLog(err: unknown, now = new Date()): string {
  return JSON.stringify({ level: 'error', msg: errorMessage(err), time: now.toISOString() });
}
