import * as z from 'zod/mini';
import { idMappingSchema, nonEmptyPath, stringList } from './common.js';

// Whether `destination` must be absolute depends on ociVersion, so the spec
// schema checks it (see index.ts).
export const mountSchema = z.looseObject({
  destination: nonEmptyPath,
  type: z.optional(z.string()),
  source: z.optional(z.string()),
  options: z.optional(stringList),
  uidMappings: z.optional(z.array(idMappingSchema)),
  gidMappings: z.optional(z.array(idMappingSchema)),
});
