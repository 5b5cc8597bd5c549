import { existsSync, statSync, writeFileSync } from 'node:fs';
import type { Spec } from '../../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { MS } from '../sys/constants.js';
import { keptFlags } from './mount-options.js';
import { wrap } from '../../errors.js';
import { because } from '../../explain/events.js';

// Steps after pivot_root, with "/" now the container's root.

export function maskPaths(sys: Syscalls, paths: string[] | undefined): void {
  for (const [i, p] of (paths ?? []).entries()) {
    if (!existsSync(p)) continue;
    try {
      if (statSync(p).isDirectory()) {
        because(`linux.maskedPaths[${i}]: ${p} is a directory: an empty read-only tmpfs over it`, () => sys.mount('tmpfs', p, 'tmpfs', MS.RDONLY, null));
      } else {
        because(`linux.maskedPaths[${i}]: ${p} is a file: /dev/null bound over it`, () => sys.mount('/dev/null', p, null, MS.BIND, null));
      }
    } catch (err) {
      throw wrap(err, `linux.maskedPaths: ${p}`);
    }
  }
}

export function readonlyPaths(sys: Syscalls, paths: string[] | undefined): void {
  for (const [i, p] of (paths ?? []).entries()) {
    if (!existsSync(p)) continue;
    try {
      because(`linux.readonlyPaths[${i}]: ${p}`, () => {
        sys.mount(p, p, null, MS.BIND | MS.REC, null);
        // Remounting a bind mount resets unlisted flags: keep the mount's own, add the safe ones.
        sys.mount(p, p, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC | MS.NOSUID | MS.NODEV | MS.NOEXEC | keptFlags(sys.statfsFlags(p)), null);
      });
    } catch (err) {
      throw wrap(err, `linux.readonlyPaths: ${p}`);
    }
  }
}

export function writeSysctls(sysctl: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    try {
      writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
    } catch (err) {
      throw wrap(err, `linux.sysctl: ${key}`);
    }
  }
}

export function remountRootReadonly(sys: Syscalls): void {
  sys.mount(null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY | keptFlags(sys.statfsFlags('/')), null);
}

export function setNames(sys: Syscalls, spec: Spec): void {
  if (spec.hostname !== undefined && spec.hostname !== '') sys.sethostname(spec.hostname);
  if (spec.domainname !== undefined && spec.domainname !== '') sys.setdomainname(spec.domainname);
}
