import { lstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { TsrunError } from '../errors.js';

/**
 * Resolves `unsafe` inside `root` as if `root` were "/": symlinks and ".." are
 * followed but can never climb above `root`. Missing components are kept
 * lexically (they will be created inside the root).
 */
export function secureJoin(root: string, unsafe: string): string {
  const stack: string[] = [];
  const queue = unsafe.split('/').filter((p) => p && p !== '.');
  let links = 0;
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '..') {
      stack.pop();
      continue;
    }
    const full = join(root, ...stack, part);
    let isLink = false;
    try {
      isLink = lstatSync(full).isSymbolicLink();
    } catch {
      // does not exist (yet): keep it as written
    }
    if (!isLink) {
      stack.push(part);
      continue;
    }
    if (++links > 255) throw new TsrunError('SPEC_INVALID', `too many symlinks while resolving "${unsafe}" in ${root}`);
    const target = readlinkSync(full);
    if (isAbsolute(target)) stack.length = 0;
    queue.unshift(...target.split('/').filter((p) => p && p !== '.'));
  }
  return join(root, ...stack);
}
