import { constants } from 'node:os';
import { TsrunError } from '../errors.js';

// Signal names as kill(1) and runc accept them: TERM, SIGTERM, 15.
const byName = constants.signals as Record<string, number>;

export function parseSignal(input: string): number {
  const s = input.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
    const n = byName[name];
    if (n !== undefined) return n;
  }
  throw new TsrunError('BAD_INPUT', `invalid signal "${input}": use a name like TERM or SIGKILL, or a number 1-64`);
}

export function signalName(n: number): string {
  return Object.entries(byName).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}
