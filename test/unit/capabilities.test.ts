import { describe, expect, it } from 'vitest';
import { capMasks, capWarnings, heldBounding } from '../../src/runtime/capabilities.js';

describe('capMasks: names the kernel cannot map or the host cannot grant are skipped, for a warning', () => {
  const CHOWN = 1n << 0n;
  const KILL = 1n << 5n;
  const SYS_RESOURCE = 1n << 24n;

  it('maps known names to bits, set by set', () => {
    const m = capMasks({ bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_KILL'], ambient: ['CAP_KILL'] }, 40);
    expect(m).toMatchObject({ bounding: CHOWN | KILL, effective: KILL, permitted: 0n, ambient: [5], unknown: [], unavailable: [] });
    expect(capWarnings(m)).toEqual([]);
  });

  it('skips a name Linux does not have, and one newer than this kernel (cap_last_cap)', () => {
    const m = capMasks({ bounding: ['CAP_KILL', 'CAP_TEST', 'CAP_CHECKPOINT_RESTORE'] }, 39);
    expect(m.bounding).toBe(KILL);
    expect(m.unknown).toEqual(['CAP_TEST', 'CAP_CHECKPOINT_RESTORE']);
    expect(capWarnings(m)).toEqual(['process.capabilities: ignoring unknown capabilities: CAP_TEST, CAP_CHECKPOINT_RESTORE']);
  });

  it('skips, in every set, a capability outside the held bounding set', () => {
    const held = ((1n << 41n) - 1n) & ~SYS_RESOURCE;
    const both = ['CAP_CHOWN', 'CAP_SYS_RESOURCE'];
    const m = capMasks({ bounding: both, effective: both, permitted: both, inheritable: both, ambient: both }, 40, held);
    expect(m).toMatchObject({ bounding: CHOWN, effective: CHOWN, permitted: CHOWN, inheritable: CHOWN, ambient: [0], unavailable: ['CAP_SYS_RESOURCE'] });
    expect(capWarnings(m)).toEqual(["process.capabilities: ignoring capabilities outside this host's bounding set: CAP_SYS_RESOURCE"]);
  });

  it('heldBounding reads CapBnd from a status file', () => {
    expect(heldBounding('Name:\tx\nCapBnd:\t000001fffeffffff\n')).toBe(0x1fffeffffffn);
  });
});
