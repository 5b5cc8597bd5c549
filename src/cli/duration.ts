import { TsrunError } from '../errors.js';

// Durations as Go writes them (runc's --interval): 5s, 500ms, 1m30s, 1.5h.

const MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== text) {
    throw new TsrunError('BAD_INPUT', `invalid value for ${flag}: expected a duration such as 5s or 500ms, got "${text}"`);
  }
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * MS[m[2]!]!, 0);
  if (ms <= 0) throw new TsrunError('BAD_INPUT', `invalid value for ${flag}: the duration must be more than 0, got "${text}"`);
  return ms;
}
