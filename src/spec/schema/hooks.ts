import * as z from 'zod/mini';
import { absolutePath, show, stringList } from './common.js';

export const hookSchema = z.looseObject({
  path: absolutePath,
  args: z.optional(stringList),
  env: z.optional(stringList),
  /** seconds */
  timeout: z.optional(
    z.number().check(z.refine((t) => Number.isInteger(t) && t > 0, { error: (iss) => `expected a whole number of seconds > 0, got ${show(iss.input)}` })),
  ),
});

const hookList = z.optional(z.array(hookSchema));

export const hooksSchema = z.looseObject({
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});
