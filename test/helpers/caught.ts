import { expect } from 'vitest';
import { TsrunError } from '../../src/errors.js';

/** Runs `fn`, which must throw a TsrunError, and returns it for assertions on code, path and message. */
export function caught(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    return err as TsrunError;
  }
  throw new Error('expected a TsrunError');
}
