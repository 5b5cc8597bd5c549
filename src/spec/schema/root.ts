import { z } from 'zod';

export const rootSchema = z.looseObject({
  path: z.string().min(1, { error: 'expected a non-empty path' }),
  readonly: z.boolean().optional(),
});
