import { z } from 'zod';
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
  valueTwo: uint64.optional(),
  op: z.enum(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']),
});

const syscallSchema = z.looseObject({
  names: z.array(z.string()).min(1, { error: 'expected a non-empty array' }),
  action: actionSchema,
  errnoRet: uint32.optional(),
  // runc accepts null here, and podman's own profile has it.
  args: z.array(argSchema).nullish().transform((a) => a ?? undefined),
});

export const seccompSchema = z.looseObject({
  defaultAction: actionSchema,
  defaultErrnoRet: uint32.optional(),
  architectures: stringList.optional(),
  flags: stringList.optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(syscallSchema).optional(),
});
