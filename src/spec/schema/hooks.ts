import { z } from 'zod';
import { absolutePath, show, stringList } from './common.js';

export const hookSchema = z.looseObject({
  path: absolutePath,
  args: stringList.optional(),
  env: stringList.optional(),
  /** seconds */
  timeout: z
    .number()
    .refine((t) => Number.isInteger(t) && t > 0, { error: (iss) => `expected a whole number of seconds > 0, got ${show(iss.input)}` })
    .optional(),
});

const hookList = z.array(hookSchema).optional();

export const hooksSchema = z.looseObject({
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});
