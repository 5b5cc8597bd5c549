import * as z from 'zod/mini';
import { absolutePath, idMappingSchema, int64, show, stringList, stringMap, uint32 } from './common.js';
import { resourcesSchema } from './resources.js';
import { seccompSchema } from './seccomp.js';

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

export const namespaceSchema = z.looseObject({
  type: z.enum(NAMESPACE_TYPES),
  path: z.optional(absolutePath),
});

const namespaceListSchema = z.array(namespaceSchema).check(
  z.superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((ns, i) => {
      if (seen.has(ns.type)) {
        ctx.addIssue({ code: 'custom', path: [i, 'type'], input: ns.type, message: `namespace type ${show(ns.type)} appears more than once` });
      }
      seen.add(ns.type);
    });
  }),
);

export const deviceSchema = z
  .looseObject({
    type: z.enum(['c', 'b', 'u', 'p']),
    path: absolutePath,
    major: z.optional(int64),
    minor: z.optional(int64),
    fileMode: z.optional(uint32),
    uid: z.optional(uint32),
    gid: z.optional(uint32),
  })
  .check(
    z.superRefine((dev, ctx) => {
      // A fifo has no device number; every other kind needs both.
      if (dev.type === 'p') return;
      for (const key of ['major', 'minor'] as const) {
        if (dev[key] !== undefined) continue;
        ctx.addIssue({ code: 'custom', path: [key], input: undefined, message: `required for device type ${show(dev.type)}` });
      }
    }),
  );

const optString = z.optional(z.string());
const optBoolean = z.optional(z.boolean());

const intelRdtSchema = z.looseObject({
  closID: optString,
  l3CacheSchema: optString,
  memBwSchema: optString,
  schemata: z.optional(stringList),
  enableMonitoring: optBoolean,
  enableCMT: optBoolean,
  enableMBM: optBoolean,
});

const personalitySchema = z.looseObject({
  domain: z.enum(['LINUX', 'LINUX32']),
  flags: z.optional(stringList),
});

export const linuxSchema = z.looseObject({
  namespaces: z.optional(namespaceListSchema),
  uidMappings: z.optional(z.array(idMappingSchema)),
  gidMappings: z.optional(z.array(idMappingSchema)),
  timeOffsets: z.optional(z.record(z.string(), z.looseObject({ secs: z.optional(int64), nanosecs: z.optional(uint32) }))),
  devices: z.optional(z.array(deviceSchema)),
  cgroupsPath: optString,
  resources: z.optional(resourcesSchema),
  sysctl: z.optional(stringMap),
  seccomp: z.optional(seccompSchema),
  rootfsPropagation: z.optional(z.enum(['shared', 'slave', 'private', 'unbindable', 'rshared', 'rslave', 'rprivate', 'runbindable'])),
  maskedPaths: z.optional(stringList),
  readonlyPaths: z.optional(stringList),
  mountLabel: optString,
  intelRdt: z.optional(intelRdtSchema),
  personality: z.optional(personalitySchema),
});
