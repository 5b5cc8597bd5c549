import { z } from 'zod';
import { idMappingSchema, stringList } from './common.js';

// Whether `destination` must be absolute depends on ociVersion, so the spec
// schema checks it (see index.ts).
export const mountSchema = z.looseObject({
  destination: z.string().min(1, { error: 'expected a non-empty path' }),
  type: z.string().optional(),
  source: z.string().optional(),
  options: stringList.optional(),
  uidMappings: z.array(idMappingSchema).optional(),
  gidMappings: z.array(idMappingSchema).optional(),
});
