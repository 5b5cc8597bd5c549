import { statSync } from 'node:fs';
import { TsrunError } from '../../errors.js';

// Finds the container's binary the way execvp does, with the container's
// PATH, and fails with the words podman maps to exit codes 127 and 126.

export function envValue(env: string[] | undefined, key: string): string | undefined {
  const hit = env?.find((e) => e.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
}

/** Who will exec: the check is made as root, before the switch to the container's user. */
export interface Execer {
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** CAP_DAC_OVERRIDE in the process's effective set: any x bit will do */
  dacOverride?: boolean;
}

const ROOT: Execer = { uid: 0, gid: 0 };

function mayExecute(st: { mode: number; uid: number; gid: number }, who: Execer): boolean {
  if (who.uid === 0 || who.dacOverride) return (st.mode & 0o111) !== 0;
  if (st.uid === who.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === who.gid || who.additionalGids?.includes(st.gid)) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

function checkExecutable(path: string, who: Execer): 'ok' | 'missing' | 'denied' {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 'missing';
  }
  if (st.isDirectory() || !mayExecute(st, who)) return 'denied';
  return 'ok';
}

export function lookPath(arg0: string, env: string[] | undefined, who: Execer = ROOT): string {
  if (arg0.includes('/')) {
    const r = checkExecutable(arg0, who);
    if (r === 'ok') return arg0;
    throw execError(arg0, r);
  }
  const PATH = envValue(env, 'PATH') ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  let denied = false;
  for (const dir of PATH.split(':')) {
    const candidate = `${dir || '.'}/${arg0}`;
    const r = checkExecutable(candidate, who);
    if (r === 'ok') return candidate;
    if (r === 'denied') denied = true;
  }
  throw execError(arg0, denied ? 'denied' : 'missing', true);
}

function execError(arg0: string, why: 'missing' | 'denied', searched = false): TsrunError {
  if (why === 'denied') {
    return new TsrunError('INIT', `exec: "${arg0}": permission denied`, { errno: 'EACCES' });
  }
  const msg = searched
    ? `exec: "${arg0}": executable file not found in $PATH: no such file or directory`
    : `exec: "${arg0}": stat ${arg0}: no such file or directory`;
  return new TsrunError('INIT', msg, { errno: 'ENOENT' });
}
