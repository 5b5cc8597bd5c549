import { z } from 'zod';
import { absolutePath, idMappingSchema, int64, show, stringList, stringMap, uint32 } from './common.js';
import { resourcesSchema } from './resources.js';
import { seccompSchema } from './seccomp.js';

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

export const namespaceSchema = z.looseObject({
  type: z.enum(NAMESPACE_TYPES),
  path: absolutePath.optional(),
});

const namespaceListSchema = z.array(namespaceSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((ns, i) => {
    if (seen.has(ns.type)) {
      ctx.addIssue({ code: 'custom', path: [i, 'type'], input: ns.type, message: `namespace type ${show(ns.type)} appears more than once` });
    }
    seen.add(ns.type);
  });
});

export const deviceSchema = z
  .looseObject({
    type: z.enum(['c', 'b', 'u', 'p']),
    path: absolutePath,
    major: int64.optional(),
    minor: int64.optional(),
    fileMode: uint32.optional(),
    uid: uint32.optional(),
    gid: uint32.optional(),
  })
  .superRefine((dev, ctx) => {
    // A fifo has no device number; every other kind needs both.
    if (dev.type === 'p') return;
    for (const key of ['major', 'minor'] as const) {
      if (dev[key] !== undefined) continue;
      ctx.addIssue({ code: 'custom', path: [key], input: undefined, message: `required for device type ${show(dev.type)}` });
    }
  });

const intelRdtSchema = z.looseObject({
  closID: z.string().optional(),
  l3CacheSchema: z.string().optional(),
  memBwSchema: z.string().optional(),
  schemata: stringList.optional(),
  enableMonitoring: z.boolean().optional(),
  enableCMT: z.boolean().optional(),
  enableMBM: z.boolean().optional(),
});

const personalitySchema = z.looseObject({
  domain: z.enum(['LINUX', 'LINUX32']),
  flags: stringList.optional(),
});

export const linuxSchema = z.looseObject({
  namespaces: namespaceListSchema.optional(),
  uidMappings: z.array(idMappingSchema).optional(),
  gidMappings: z.array(idMappingSchema).optional(),
  timeOffsets: z.record(z.string(), z.looseObject({ secs: int64.optional(), nanosecs: uint32.optional() })).optional(),
  devices: z.array(deviceSchema).optional(),
  cgroupsPath: z.string().optional(),
  resources: resourcesSchema.optional(),
  sysctl: stringMap.optional(),
  seccomp: seccompSchema.optional(),
  rootfsPropagation: z
    .enum(['shared', 'slave', 'private', 'unbindable', 'rshared', 'rslave', 'rprivate', 'runbindable'])
    .optional(),
  maskedPaths: stringList.optional(),
  readonlyPaths: stringList.optional(),
  mountLabel: z.string().optional(),
  intelRdt: intelRdtSchema.optional(),
  personality: personalitySchema.optional(),
});
