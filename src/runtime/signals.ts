import { constants } from 'node:os';
import { TsrunError } from '../errors.js';

// Signal names as kill(1) and runc accept them: TERM, SIGTERM, term, 15; 0 checks liveness.
const byName = constants.signals as Record<string, number>;

/** Real-time signals by name: SIGRTMIN, SIGRTMIN+n, SIGRTMAX, SIGRTMAX-n (glibc's 34…64). */
function realtime(name: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[3] ?? 0);
  if ((m[1] === 'MIN' && m[2] === '-') || (m[1] === 'MAX' && m[2] === '+')) return undefined;
  const signo = m[1] === 'MIN' ? 34 + n : 64 - n;
  return signo >= 34 && signo <= 64 ? signo : undefined;
}

export function parseSignal(input: string): number {
  const s = input.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= 64) return n;
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const n = byName[name] ?? realtime(name);
    if (n !== undefined) return n;
  }
  throw new TsrunError('BAD_INPUT', `unknown signal "${input}"`, { hint: 'a name like TERM or SIGKILL, or a number 0-64' });
}

export function signalName(n: number): string {
  return Object.entries(byName).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}
