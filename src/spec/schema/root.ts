import * as z from 'zod/mini';
import { nonEmptyPath } from './common.js';

export const rootSchema = z.looseObject({
  path: nonEmptyPath,
  readonly: z.optional(z.boolean()),
});
