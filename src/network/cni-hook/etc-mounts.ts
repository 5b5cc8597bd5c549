import { closeSync, lstatSync, mkdirSync, openSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TsrunError, errorMessage } from '../../errors.js';
import { secureJoin } from '../../common/secure-join.js';
import { CLONE, MS, O } from '../../sys/constants.js';
import type { Syscalls } from '../../sys/syscalls.js';

// The container's resolv.conf and hosts are bind-mounted over the image's
// /etc/resolv.conf and /etc/hosts, so the bundle is never written. A bind mount
// needs something to mount over: when the image has the file (the usual case)
// nothing is created; when it lacks it (or /etc), an empty file (and the
// directories) are made in the rootfs, noted, and removed at teardown.

export const ETC_FILES = ['resolv.conf', 'hosts'] as const;

/** The spec mounts that put `dir`'s files over the image's (for a runtime that makes the config's mounts). */
export function etcMounts(dir: string): { destination: string; type: string; source: string; options: string[] }[] {
  return ETC_FILES.map((f) => ({ destination: `/etc/${f}`, type: 'bind', source: join(dir, f), options: ['bind', 'nosuid', 'nodev', 'noexec'] }));
}

const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * Makes sure /etc/resolv.conf and /etc/hosts exist in `rootfs` (symlinks
 * resolved inside it, as the mounts will be). Returns what it created, parents
 * first, for removeCreated.
 */
export function prepareTargets(rootfs: string): string[] {
  const created: string[] = [];
  for (const f of ETC_FILES) {
    const target = secureJoin(rootfs, `etc/${f}`);
    if (exists(target)) continue;
    const missing: string[] = [];
    for (let d = dirname(target); d.startsWith(rootfs) && d !== rootfs && !exists(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) {
      mkdirSync(d, { mode: 0o755 });
      created.push(d);
    }
    closeSync(openSync(target, 'wx', 0o644));
    created.push(target);
  }
  return created;
}

/** Removes what prepareTargets made, while it is still empty (anything written since is left alone). */
export function removeCreated(created: string[], warn: (m: string) => void): void {
  for (const p of [...created].reverse()) {
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) rmdirSync(p);
      else if (st.isFile() && st.size === 0) unlinkSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY') warn(`remove ${p}: ${errorMessage(err)}`);
    }
  }
}

/**
 * For a runtime that has made its mounts already (runc, crun: createRuntime
 * runs before pivot_root): enters the container's mount namespace on this
 * thread (after unshare(CLONE_FS), which setns into a mount namespace needs),
 * prepares the targets, bind-mounts `dir`'s files over them, and comes back.
 * Returns what was created in the rootfs.
 */
export function mountIntoContainer(sys: Syscalls, pid: number, rootfs: string, dir: string): string[] {
  const home = sys.open('/proc/thread-self/ns/mnt', O.RDONLY | O.CLOEXEC);
  const theirs = sys.open(`/proc/${pid}/ns/mnt`, O.RDONLY | O.CLOEXEC);
  let created: string[] = [];
  try {
    sys.unshare(CLONE.FS);
    sys.setns(theirs, CLONE.NEWNS);
    try {
      created = prepareTargets(rootfs);
      for (const f of ETC_FILES) sys.mount(join(dir, f), secureJoin(rootfs, `etc/${f}`), 'bind', MS.BIND, null);
    } catch (err) {
      removeCreated(created, () => {});
      throw new TsrunError('SYSCALL', `hook cni: mount resolv.conf and hosts into container ${pid}'s ${rootfs}/etc: ${errorMessage(err)}`, { cause: err });
    } finally {
      sys.setns(home, CLONE.NEWNS);
    }
  } finally {
    sys.close(theirs);
    sys.close(home);
  }
  return created;
}
