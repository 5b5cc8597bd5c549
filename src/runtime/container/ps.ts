import { spawnSync } from 'node:child_process';
import { TsrunError } from '../../errors.js';

// `tsrun ps ID [ps options]`: ps(1) runs on the host with the caller's options
// (default -ef), and only the header and the container's own rows are kept,
// picked by the PID column, the way runc does it.

/** ps output filtered to `pids`: the header line plus each row whose PID column is one of them. */
export function filterPsOutput(text: string, pids: number[]): string {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = lines[0];
  if (header === undefined) return '';
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new TsrunError('BAD_INPUT', 'ps: no PID column in the output of ps(1)', { hint: 'give ps options that show the PID column (e.g. -o pid,comm)' });
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[column])));
  return [header, ...rows].map((l) => `${l}\n`).join('');
}

export function runPs(options: string[], pids: number[]): string {
  const r = spawnSync('ps', options.length ? options : ['-ef'], { encoding: 'utf8' });
  if (r.error) throw new TsrunError('SYSCALL', `ps: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) throw new TsrunError('BAD_INPUT', `ps ${options.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return filterPsOutput(r.stdout, pids);
}
