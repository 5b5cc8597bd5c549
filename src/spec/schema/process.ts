import { z } from 'zod';
import { absolutePath, int64, matching, show, stringList, uint32, uint64 } from './common.js';

const capabilityName = matching(/^CAP_[A-Z_]+$/, 'a capability name like CAP_KILL');

export const capabilitiesSchema = z.looseObject({
  bounding: z.array(capabilityName).optional(),
  effective: z.array(capabilityName).optional(),
  inheritable: z.array(capabilityName).optional(),
  permitted: z.array(capabilityName).optional(),
  ambient: z.array(capabilityName).optional(),
});

export const rlimitSchema = z
  .looseObject({
    type: matching(/^RLIMIT_[A-Z]+$/, 'a resource name like RLIMIT_NOFILE'),
    hard: uint64,
    soft: uint64,
  })
  .superRefine((r, ctx) => {
    if (r.soft > r.hard) {
      ctx.addIssue({ code: 'custom', path: ['soft'], input: r.soft, message: `soft limit ${show(r.soft)} is above hard limit ${show(r.hard)}` });
    }
  });

// runc treats a missing user, uid or gid as 0 (root), so do the same.
export const userSchema = z.looseObject({
  uid: uint32.default(0),
  gid: uint32.default(0),
  umask: uint32.optional(),
  additionalGids: z.array(uint32).optional(),
  username: z.string().optional(),
});

const consoleSizeSchema = z.looseObject({ height: uint32, width: uint32 });

const ioPrioritySchema = z.looseObject({
  class: z.enum(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
  priority: int64,
});

const schedulerSchema = z.looseObject({
  policy: z.enum(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE']),
  nice: int64.optional(),
  priority: int64.optional(),
  flags: stringList.optional(),
  runtime: uint64.optional(),
  deadline: uint64.optional(),
  period: uint64.optional(),
});

export const processSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: consoleSizeSchema.optional(),
  user: userSchema.default({ uid: 0, gid: 0 }),
  args: z.array(z.string()).min(1, { error: 'expected a non-empty array' }),
  commandLine: z.string().optional(),
  env: stringList.optional(),
  cwd: absolutePath,
  capabilities: capabilitiesSchema.optional(),
  rlimits: z.array(rlimitSchema).optional(),
  noNewPrivileges: z.boolean().optional(),
  oomScoreAdj: int64.optional(),
  apparmorProfile: z.string().optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: ioPrioritySchema.optional(),
  scheduler: schedulerSchema.optional(),
});
