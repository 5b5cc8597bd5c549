import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { checkKernelNames } from '../../src/runtime/kernel-names.js';
import type { Process } from '../../src/spec/types.js';

const base: Process = { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', terminal: false } as Process;
const file = '/b/config.json';

function caught(fn: () => void): TsrunError {
  try {
    fn();
  } catch (err) {
    return err as TsrunError;
  }
  throw new Error('expected an error');
}

describe('checkKernelNames (create refuses names Linux does not have)', () => {
  it('accepts known rlimits and capabilities, and no process at all', () => {
    expect(() =>
      checkKernelNames(
        {
          ...base,
          rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }, { type: 'RLIMIT_RTTIME', soft: 1, hard: 1 }],
          // CAP_CHECKPOINT_RESTORE may be beyond an older kernel: that is a warning later, not an error.
          capabilities: { bounding: ['CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_KILL'], ambient: [] },
        },
        file,
      ),
    ).not.toThrow();
    expect(() => checkKernelNames(undefined, file)).not.toThrow();
  });

  it('names the file and the JSON path of an unknown rlimit', () => {
    const err = caught(() => checkKernelNames({ ...base, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }, { type: 'RLIMIT_TEST', soft: 1, hard: 1 }] }, file));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.jsonPath).toBe('process.rlimits[1].type');
    expect(err.message).toBe('/b/config.json: process.rlimits[1].type: unknown resource "RLIMIT_TEST"');
  });

  it('leaves capability names alone: the runtime-spec makes those warnings', () => {
    expect(() => checkKernelNames({ ...base, capabilities: { bounding: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_TEST'] } }, file)).not.toThrow();
  });
});
