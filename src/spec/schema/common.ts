import { z } from 'zod';

// Building blocks shared by the section schemas. Messages follow
// "expected …, got …" so a jsonPath prefix reads as one sentence.

export const UINT32_MAX = 2 ** 32 - 1;

export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** uid, gid, mode, size: the kernel takes a u32. */
export const uint32 = z
  .number()
  .refine((n) => Number.isInteger(n) && n >= 0 && n <= UINT32_MAX, {
    error: (iss) => `expected an integer from 0 to ${UINT32_MAX}, got ${show(iss.input)}`,
  });

/** u64/i64 fields: JSON numbers past 2^53 lose precision, so only ask for an integer. */
export const int64 = z.number().refine(Number.isInteger, {
  error: (iss) => `expected an integer, got ${show(iss.input)}`,
});

export const uint64 = z.number().refine((n) => Number.isInteger(n) && n >= 0, {
  error: (iss) => `expected a non-negative integer, got ${show(iss.input)}`,
});

export const absolutePath = z.string().refine((p) => p.startsWith('/'), {
  error: (iss) => `expected an absolute path, got ${show(iss.input)}`,
});

export const stringList = z.array(z.string());

export const stringMap = z.record(z.string(), z.string());

/** A string matched against a pattern, with the pattern's meaning in the message. */
export function matching(pattern: RegExp, what: string) {
  return z.string().refine((s) => pattern.test(s), {
    error: (iss) => `expected ${what}, got ${show(iss.input)}`,
  });
}

export const idMappingSchema = z.looseObject({
  containerID: uint32,
  hostID: uint32,
  size: uint32,
});
