import { readFileSync, statSync } from 'node:fs';
import type { Spec } from '../../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { MS } from '../sys/constants.js';
import { findNamespace } from '../namespaces.js';
import { mountOne } from '../rootfs/mounts.js';
import { createDevices, createDevSymlinks } from '../rootfs/devices.js';
import { propagationFlag } from '../rootfs/mount-options.js';
import { envValue, type Execer } from './lookpath.js';
import { TsrunError } from '../../errors.js';
import { because } from '../../explain/events.js';

// Set-up steps shared by the CLI's main thread (containers without a user
// namespace) and the Node init (containers with one).

/** Mounts, devices and /dev links on the rootfs, before pivot_root. `cgroupPid`: the container's process, when the caller is not it. */
export function setupRootfs(sys: Syscalls, spec: Spec, rootfs: string, bundle: string, cgroupPid: number | 'self' = 'self'): void {
  const prop = spec.linux?.rootfsPropagation;
  const rootFlag = (prop && propagationFlag(prop)) || MS.SLAVE | MS.REC;
  because(prop ? `linux.rootfsPropagation: ${prop}` : 'nothing mounted in the container may propagate back to the host', () =>
    sys.mount(null, '/', null, rootFlag | MS.REC, null),
  );
  because('root.path: pivot_root needs the rootfs to be a mount point', () => sys.mount(rootfs, rootfs, 'bind', MS.BIND | MS.REC, null));
  const inUserNs = findNamespace(spec.linux?.namespaces, 'user') !== undefined;
  const ownCgroupNs = findNamespace(spec.linux?.namespaces, 'cgroup') !== undefined;
  const pidNs = typeof cgroupPid === 'number' && findNamespace(spec.linux?.namespaces, 'pid') !== undefined;
  (spec.mounts ?? []).forEach((m, i) => {
    // procfs shows the mounting task's pid namespace, and the main thread's is the host's: name the container's.
    const mount = pidNs && m.type === 'proc' ? { ...m, options: [...(m.options ?? []), `pidns=/proc/${cgroupPid}/ns/pid`] } : m;
    const why = `mounts[${i}] {destination: ${m.destination}, type: ${m.type ?? 'bind'}}${mount !== m ? ' (pidns=: the container\'s pid namespace, not the mounting thread\'s)' : ''}`;
    because(why, () => mountOne(sys, rootfs, bundle, mount, i, inUserNs, ownCgroupNs, cgroupPid));
  });
  because(inUserNs ? 'default devices and linux.devices: bound from the host (mknod is not allowed in a user namespace)' : 'default devices and linux.devices: made with mknod inside the container, never bound from the host', () =>
    createDevices(sys, rootfs, spec.linux?.devices, inUserNs),
  );
  createDevSymlinks(rootfs, (spec.mounts ?? []).some((m) => m.type === 'devpts'));
}

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
