import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TsrunError } from '../errors.js';
import { mark } from '../explain/timings.js';
import { errnoCode } from './fs-error.js';
import { describeIssue, formatLine, issueLines } from './issues.js';
import { findJsonSyntaxProblem } from './json-position.js';
import { specSchema } from './schema/index.js';
import type { Spec } from './types.js';

export interface Bundle {
  /** absolute, symlinks resolved */
  bundle: string;
  configPath: string;
  spec: Spec;
  /** root.path, resolved against the bundle when relative */
  rootfs: string;
}

const SPEC_HINT = 'see https://github.com/opencontainers/runtime-spec/blob/main/config.md';

/** Validates an already parsed config.json; `file` names it in errors. */
export function parseSpec(json: unknown, file: string): Spec {
  const result = specSchema.safeParse(json, { error: describeIssue });
  if (result.success) return result.data;
  const [first, ...rest] = issueLines(result.error.issues);
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  const hint = rest.length ? `also: ${rest.slice(0, 3).map(formatLine).join('; ')}${rest.length > 3 ? '; …' : ''}` : SPEC_HINT;
  throw new TsrunError('SPEC_INVALID', `${file}: ${formatLine(first!)}${more}`, { file, jsonPath: first!.jsonPath, hint });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const errno = errnoCode(err);
    if (errno === 'ENOENT') {
      throw new TsrunError('NOT_FOUND', `${file}: no such file or directory`, { file, errno, hint: 'create one with "tsrun spec"' });
    }
    if (errno === 'EISDIR') throw new TsrunError('SPEC_INVALID', `${file}: is a directory, expected a file`, { file, errno });
    throw new TsrunError('INTERNAL', `read ${file}: ${err instanceof Error ? err.message : String(err)}`, { file, errno, cause: err });
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const problem = findJsonSyntaxProblem(text);
    const where = problem ? ` at line ${problem.line}, column ${problem.column}: ${problem.reason}` : `: ${(err as Error).message}`;
    throw new TsrunError('SPEC_INVALID', `${file}: invalid JSON${where}`, { file, cause: err });
  }
}

/** Reads, parses and validates one config.json. */
export function loadSpecFile(configPath: string): Spec {
  return parseSpec(parseJson(readText(configPath), configPath), configPath);
}

function realBundleDir(bundleDir: string): string {
  let real: string;
  try {
    real = realpathSync(bundleDir);
  } catch (err) {
    const errno = errnoCode(err);
    const what = errno === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw new TsrunError(errno === 'ENOENT' ? 'NOT_FOUND' : 'INTERNAL', `bundle ${bundleDir}: ${what}`, { errno, cause: err });
  }
  if (!statSync(real).isDirectory()) throw new TsrunError('BAD_INPUT', `bundle ${bundleDir}: not a directory`);
  return real;
}

function checkRootfs(rootfs: string, file: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch (err) {
    throw new TsrunError('NOT_FOUND', `${file}: root.path: ${rootfs}: no such file or directory`, {
      file,
      jsonPath: 'root.path',
      errno: errnoCode(err),
      hint: 'unpack an image into the bundle\'s rootfs, or fix root.path',
    });
  }
  if (!isDir) throw new TsrunError('SPEC_INVALID', `${file}: root.path: ${rootfs}: not a directory`, { file, jsonPath: 'root.path' });
}

/** Loads a bundle to create a container from: config.json valid, process present, rootfs a directory. */
export function loadBundle(bundleDir: string): Bundle {
  mark('spec modules loaded');
  const bundle = realBundleDir(bundleDir);
  const configPath = resolve(bundleDir, 'config.json');
  const spec = loadSpecFile(configPath);
  if (!spec.process) {
    throw new TsrunError('SPEC_INVALID', `${configPath}: process: required to create a container`, { file: configPath, jsonPath: 'process' });
  }
  if (!spec.root) {
    throw new TsrunError('SPEC_INVALID', `${configPath}: root: required on Linux`, { file: configPath, jsonPath: 'root' });
  }
  const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(bundle, spec.root.path);
  checkRootfs(rootfs, configPath);
  mark('spec validated');
  return { bundle, configPath, spec, rootfs };
}
