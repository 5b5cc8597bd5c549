import * as z from 'zod/mini';
import { show, stringMap } from './common.js';
import { hooksSchema } from './hooks.js';
import { linuxSchema } from './linux.js';
import { mountSchema } from './mounts.js';
import { processSchema } from './process.js';
import { rootSchema } from './root.js';

export { NAMESPACE_TYPES } from './linux.js';
export {
  capabilitiesSchema,
  processSchema,
  rlimitSchema,
  userSchema,
} from './process.js';
export { deviceSchema, linuxSchema, namespaceSchema } from './linux.js';
export { hookSchema, hooksSchema } from './hooks.js';
export { mountSchema } from './mounts.js';
export { rootSchema } from './root.js';
export { resourcesSchema } from './resources.js';
export { seccompSchema } from './seccomp.js';
export { idMappingSchema } from './common.js';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const ociVersionSchema = z.string().check(
  z.refine((v) => SEMVER.exec(v)?.[1] === '1', {
    error: (iss) => `expected a 1.x.y version (runtime-spec 1.0 to 1.2), got ${show(iss.input)}`,
  }),
);

/** runtime-spec 1.0 tolerated relative mount destinations; from 1.1 on they must be absolute. */
function allowsRelativeMounts(ociVersion: string): boolean {
  const [, major, minor] = SEMVER.exec(ociVersion) ?? [];
  return major === '1' && minor === '0';
}

export const specSchema = z
  .looseObject({
    ociVersion: ociVersionSchema,
    root: z.optional(rootSchema),
    mounts: z.optional(z.array(mountSchema)),
    process: z.optional(processSchema),
    hostname: z.optional(z.string()),
    domainname: z.optional(z.string()),
    hooks: z.optional(hooksSchema),
    annotations: z.optional(stringMap),
    linux: z.optional(linuxSchema),
  })
  .check(
    z.superRefine((spec, ctx) => {
      if (allowsRelativeMounts(spec.ociVersion)) return;
      spec.mounts?.forEach((m, i) => {
        if (!m.destination.startsWith('/')) {
          ctx.addIssue({
            code: 'custom',
            path: ['mounts', i, 'destination'],
            input: m.destination,
            message: `expected an absolute path, got ${show(m.destination)} (relative destinations are only accepted with ociVersion 1.0.x)`,
          });
        }
      });
    }),
  );
