import type { Namespace, NamespaceType } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { CLONE, O } from '../../sys/constants.js';
import { CLONE_FLAG } from '../namespaces.js';
import { TsrunError, errorMessage } from '../../errors.js';
import { because } from '../../explain/events.js';

// The CLI's main thread walks into a container's namespaces and back out.
// Namespaces, the root and the cwd are per thread once the thread has its own
// fs struct (unshare(CLONE_FS)); a child posix_spawn'ed from the main thread
// inherits that thread's. Threadpool threads stay in the host's namespaces, so
// only synchronous calls may run while the main thread is in (the pool's work —
// the cgroup warm-up write, waitpid — goes by fd or pid, never by path).

/** /proc/<pid>/ns/<name> for each namespace type. */
export const PROC_NS: Record<NamespaceType, string> = { network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', user: 'user', time: 'time' };

/** Joined in this order: a netns path such as /run/netns/x lives in the host's mount namespace. */
const ORDER: NamespaceType[] = ['ipc', 'uts', 'network', 'cgroup', 'pid', 'mount'];

/** Where the main thread was: fds of its namespaces, its root and its cwd. */
export interface HostPlace {
  ns: [NamespaceType, number][];
  root: number;
  cwd: number;
}

const ownFs = new WeakSet<Syscalls>();

/** Saves the thread's namespaces of `types` (and its root and cwd) so it can come back. */
export function saveHostPlace(sys: Syscalls, types: NamespaceType[]): HostPlace {
  if (!ownFs.has(sys)) {
    because('the main thread gets its own fs struct: only then may it change its mount namespace and root alone', () => sys.unshare(CLONE.FS));
    ownFs.add(sys);
  }
  const ns: [NamespaceType, number][] = [];
  try {
    return because('the main thread\'s own namespaces, root and cwd: to come back to', () => {
      for (const t of ORDER.filter((x) => types.includes(x))) ns.push([t, sys.open(`/proc/thread-self/ns/${PROC_NS[t]}`, O.RDONLY | O.CLOEXEC)]);
      const root = sys.open('/', O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      const cwd = sys.open('.', O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      return { ns, root, cwd };
    });
  } catch (err) {
    for (const [, fd] of ns) sys.close(fd);
    throw err;
  }
}

/**
 * Enters (or creates: no path) each namespace, in ORDER. A new pid namespace
 * only changes where the thread's next child goes.
 */
export function enterNamespaces(sys: Syscalls, list: Namespace[], reason: (n: Namespace) => string): void {
  for (const type of ORDER) {
    const n = list.find((x) => x.type === type);
    if (!n) continue;
    because(reason(n), () => {
      if (!n.path) return sys.unshare(CLONE_FLAG[type]);
      const fd = sys.open(n.path, O.RDONLY | O.CLOEXEC);
      try {
        sys.setns(fd, CLONE_FLAG[type]);
      } finally {
        sys.close(fd);
      }
    });
  }
}

/** Back to the saved namespaces, root and cwd; the fds are closed. Failing here leaves the CLI unusable. */
export function returnToHost(sys: Syscalls, place: HostPlace): void {
  try {
    because('back to the runtime\'s own namespaces, root and cwd', () => {
      // The mount namespace first: setns(CLONE_NEWNS) also resets root and cwd.
      for (const [t, fd] of [...place.ns].reverse()) sys.setns(fd, CLONE_FLAG[t]);
      sys.fchdir(place.root);
      sys.chroot('.');
      sys.fchdir(place.cwd);
    });
  } catch (err) {
    throw new TsrunError('INTERNAL', `could not return to the runtime's namespaces: ${errorMessage(err)}`, { cause: err });
  } finally {
    because('done with them', () => {
      for (const [, fd] of place.ns) sys.close(fd);
      sys.close(place.root);
      sys.close(place.cwd);
    });
  }
}

/** Runs `fn` in the given namespaces (synchronously), then returns to where the thread was. */
export function inNamespaces<T>(sys: Syscalls, list: Namespace[], reason: (n: Namespace) => string, fn: () => T): T {
  const place = saveHostPlace(sys, list.map((n) => n.type));
  let result: T;
  try {
    enterNamespaces(sys, list, reason);
    result = fn();
  } finally {
    returnToHost(sys, place);
  }
  return result;
}
