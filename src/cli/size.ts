import { TsrunError } from '../errors.js';

// Sizes as docker and runc take them: 1024, 512k, 64m, 1.5g (binary units, an
// optional "b" or "ib"). Used by `update --memory` and friends.

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new TsrunError('BAD_INPUT', `invalid value for ${flag}: invalid size: '${text}'`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}
