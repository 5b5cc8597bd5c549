import * as z from 'zod/mini';
import { stringList, uint32, uint64 } from './common.js';

const actionSchema = z.enum([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);

const argSchema = z.looseObject({
  index: uint32,
  value: uint64,
  valueTwo: z.optional(uint64),
  op: z.enum(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']),
});

const syscallSchema = z.looseObject({
  names: z.array(z.string()).check(z.minLength(1, { error: 'expected a non-empty array' })),
  action: actionSchema,
  errnoRet: z.optional(uint32),
  // runc accepts null here, and podman's own profile has it.
  args: z.pipe(
    z.nullish(z.array(argSchema)),
    z.transform((a) => a ?? undefined),
  ),
});

export const seccompSchema = z.looseObject({
  defaultAction: actionSchema,
  defaultErrnoRet: z.optional(uint32),
  architectures: z.optional(stringList),
  flags: z.optional(stringList),
  listenerPath: z.optional(z.string()),
  listenerMetadata: z.optional(z.string()),
  syscalls: z.optional(z.array(syscallSchema)),
});
