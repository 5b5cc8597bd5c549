import { readFileSync, statSync } from 'node:fs';
import type { Spec } from '../../spec/types.js';
import { envValue, type Execer } from './lookpath.js';
import { TsrunError } from '../../errors.js';

// Set-up steps shared by the CLI's main thread (containers without a user
// namespace) and the Node init (containers with one). The rootfs itself is
// rootfs/setup.ts's.

export function checkCwd(cwd: string): void {
  let ok = false;
  try {
    ok = statSync(cwd).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new TsrunError('INIT', `chdir to cwd ("${cwd}") set in config.json failed: no such file or directory`, { jsonPath: 'process.cwd' });
}

/** Who will exec the binary, for the lookup made as root before the user switch. */
export function execer(proc: NonNullable<Spec['process']>): Execer {
  return { ...proc.user, dacOverride: proc.capabilities?.effective?.includes('CAP_DAC_OVERRIDE') ?? proc.capabilities === undefined };
}

/** HOME from the container's /etc/passwd when the config does not set it, like runc. */
export function containerEnv(spec: Spec): string[] {
  const env = [...(spec.process?.env ?? [])];
  if (envValue(env, 'HOME') === undefined) {
    const uid = spec.process?.user.uid ?? 0;
    let home = '/';
    try {
      const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
      home = line?.split(':')[5] || '/';
    } catch {
      // no passwd file in the image
    }
    env.push(`HOME=${home}`);
  }
  return env;
}
