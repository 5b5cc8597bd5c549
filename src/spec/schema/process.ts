import * as z from 'zod/mini';
import { absolutePath, int64, matching, show, stringList, uint32, uint64 } from './common.js';

const capabilityName = matching(/^CAP_[A-Z_]+$/, 'a capability name like CAP_KILL');
const capabilityList = z.optional(z.array(capabilityName));

export const capabilitiesSchema = z.looseObject({
  bounding: capabilityList,
  effective: capabilityList,
  inheritable: capabilityList,
  permitted: capabilityList,
  ambient: capabilityList,
});

export const rlimitSchema = z
  .looseObject({
    type: matching(/^RLIMIT_[A-Z]+$/, 'a resource name like RLIMIT_NOFILE'),
    hard: uint64,
    soft: uint64,
  })
  .check(
    z.superRefine((r, ctx) => {
      if (r.soft > r.hard) {
        ctx.addIssue({ code: 'custom', path: ['soft'], input: r.soft, message: `soft limit ${show(r.soft)} is above hard limit ${show(r.hard)}` });
      }
    }),
  );

// runc treats a missing user, uid or gid as 0 (root), so do the same.
export const userSchema = z.looseObject({
  uid: z._default(uint32, 0),
  gid: z._default(uint32, 0),
  umask: z.optional(uint32),
  additionalGids: z.optional(z.array(uint32)),
  username: z.optional(z.string()),
});

const consoleSizeSchema = z.looseObject({ height: uint32, width: uint32 });

const ioPrioritySchema = z.looseObject({
  class: z.enum(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
  priority: int64,
});

const schedulerSchema = z.looseObject({
  policy: z.enum(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE']),
  nice: z.optional(int64),
  priority: z.optional(int64),
  flags: z.optional(stringList),
  runtime: z.optional(uint64),
  deadline: z.optional(uint64),
  period: z.optional(uint64),
});

export const processSchema = z.looseObject({
  terminal: z.optional(z.boolean()),
  consoleSize: z.optional(consoleSizeSchema),
  user: z._default(userSchema, { uid: 0, gid: 0 }),
  args: z.array(z.string()).check(z.minLength(1, { error: 'expected a non-empty array' })),
  commandLine: z.optional(z.string()),
  env: z.optional(stringList),
  cwd: absolutePath,
  capabilities: z.optional(capabilitiesSchema),
  rlimits: z.optional(z.array(rlimitSchema)),
  noNewPrivileges: z.optional(z.boolean()),
  oomScoreAdj: z.optional(int64),
  apparmorProfile: z.optional(z.string()),
  selinuxLabel: z.optional(z.string()),
  ioPriority: z.optional(ioPrioritySchema),
  scheduler: z.optional(schedulerSchema),
});
