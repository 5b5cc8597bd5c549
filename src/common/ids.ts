import { TsrunError } from '../errors.js';

// Container ids become directory names under the state root, so they must not
// be able to climb out of it.
const ID = /^[A-Za-z0-9_+.-]+$/;

export function checkId(id: string): string {
  if (!id) throw new TsrunError('BAD_INPUT', 'container id cannot be empty');
  if (id === '.' || id === '..' || !ID.test(id) || id.length > 1024) {
    throw new TsrunError('BAD_INPUT', `invalid container id "${id}": use letters, digits, "_", "+", "-" and "." only`);
  }
  return id;
}

/** A random id for `tsrun run <bundle>` when none is given. */
export function generateId(): string {
  return `tsrun-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
