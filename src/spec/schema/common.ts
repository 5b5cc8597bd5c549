import * as z from 'zod/mini';

// Building blocks shared by the section schemas. Messages follow
// "expected …, got …" so a jsonPath prefix reads as one sentence.
// zod/mini (functional API, tree-shaken by the bundler) instead of full zod:
// the same checks and issues, for a fraction of the start-up cost.

export const UINT32_MAX = 2 ** 32 - 1;

export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A number that passes `test`, else "expected <what>, got <input>". */
function numberWhere(test: (n: number) => boolean, what: string) {
  return z.number().check(z.refine(test, { error: (iss) => `expected ${what}, got ${show(iss.input)}` }));
}

/** uid, gid, mode, size: the kernel takes a u32. */
export const uint32 = numberWhere((n) => Number.isInteger(n) && n >= 0 && n <= UINT32_MAX, `an integer from 0 to ${UINT32_MAX}`);

/** u64/i64 fields: JSON numbers past 2^53 lose precision, so only ask for an integer. */
export const int64 = numberWhere(Number.isInteger, 'an integer');

export const uint64 = numberWhere((n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');

/** A string matched against a pattern, with the pattern's meaning in the message. */
export function matching(pattern: RegExp, what: string) {
  return z.string().check(z.refine((s) => pattern.test(s), { error: (iss) => `expected ${what}, got ${show(iss.input)}` }));
}

export const absolutePath = matching(/^\//, 'an absolute path');

/** A string of at least one character. */
export const nonEmptyPath = z.string().check(z.minLength(1, { error: 'expected a non-empty path' }));

export const stringList = z.array(z.string());

export const stringMap = z.record(z.string(), z.string());

export const idMappingSchema = z.looseObject({
  containerID: uint32,
  hostID: uint32,
  size: uint32,
});
