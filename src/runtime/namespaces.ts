import { TsrunError } from '../errors.js';
import type { Namespace, NamespaceType } from '../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { CLONE, O } from '../sys/constants.js';
import { because } from '../explain/events.js';

// Namespaces the config asks for: created (no path) or joined (path).

export const CLONE_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

export function findNamespace(list: Namespace[] | undefined, type: NamespaceType): Namespace | undefined {
  return list?.find((n) => n.type === type);
}

/** Rejects what tsrun cannot do yet, instead of silently ignoring it. */
export function checkSupported(list: Namespace[] | undefined, maps: { uid?: unknown[]; gid?: unknown[] }): void {
  const user = findNamespace(list, 'user');
  if (user && !user.path && (!maps.uid?.length || !maps.gid?.length)) {
    throw new TsrunError('SPEC_INVALID', 'a new user namespace needs linux.uidMappings and linux.gidMappings', {
      jsonPath: `linux.namespaces[${list!.indexOf(user)}]`,
      hint: 'tsrun spec --rootless writes a config with both',
    });
  }
  const time = findNamespace(list, 'time');
  if (time) {
    throw new TsrunError('NOT_SUPPORTED', 'time namespaces are not supported yet', { jsonPath: `linux.namespaces[${list!.indexOf(time)}]` });
  }
}

/**
 * Enters or creates the namespaces in `types`, in the given order, on the
 * calling thread. Joining a mount namespace needs an unshared fs struct first.
 */
export function enterNamespaces(sys: Syscalls, list: Namespace[] | undefined, types: NamespaceType[]): void {
  for (const type of types) {
    const ns = findNamespace(list, type);
    if (!ns) continue;
    because(`linux.namespaces[${list!.indexOf(ns)}] {type: ${type}${ns.path ? `, path: ${ns.path}` : ''}}`, () => enterOne(sys, type, ns.path));
  }
}

function enterOne(sys: Syscalls, type: NamespaceType, path: string | undefined): void {
  if (!path) {
    sys.unshare(CLONE_FLAG[type]);
    return;
  }
  if (type === 'mount') sys.unshare(CLONE.FS);
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  try {
    sys.setns(fd, CLONE_FLAG[type]);
  } finally {
    sys.close(fd);
  }
}
