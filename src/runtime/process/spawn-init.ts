import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Namespace } from '../../spec/types.js';
import type { Syscalls } from '../sys/syscalls.js';
import { CLONE, O } from '../sys/constants.js';
import { findNamespace } from '../namespaces.js';
import { ParentChannel } from './parent-channel.js';
import { because, emit } from '../../explain/events.js';

// Starts the container's init as a new Node process. For a new pid namespace
// the runtime unshares CLONE_NEWPID on its own main thread (it only affects
// children), spawns, then restores pid_for_children at once: otherwise the
// next child it forks would land in the container's namespace.

const INIT_SCRIPT = fileURLToPath(new URL('./init-main.js', import.meta.url));

export interface SpawnedInit {
  child: ChildProcess;
  pid: number;
  channel: ParentChannel;
}

export function spawnInit(
  sys: Syscalls,
  namespaces: Namespace[] | undefined,
  onLog: (level: 'warning' | 'debug', msg: string) => void,
): SpawnedInit {
  const pidNs = findNamespace(namespaces, 'pid');
  let restoreFd = -1;
  if (pidNs) {
    because(`linux.namespaces[${namespaces!.indexOf(pidNs)}] {type: pid}: the init is spawned into it, as its PID 1`, () => {
      // Open it before unsharing: until the first child exists, pid_for_children does not resolve.
      restoreFd = sys.open('/proc/self/ns/pid', O.RDONLY | O.CLOEXEC);
      if (pidNs.path) {
        const fd = sys.open(pidNs.path, O.RDONLY | O.CLOEXEC);
        try {
          sys.setns(fd, CLONE.NEWPID);
        } finally {
          sys.close(fd);
        }
      } else sys.unshare(CLONE.NEWPID);
    });
  }
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [INIT_SCRIPT], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      // A small environment: NODE_OPTIONS or NODE_EXTRA_CA_CERTS would slow the init's boot.
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: '/',
    });
  } finally {
    if (restoreFd >= 0) {
      because('children the runtime forks later must stay in its own pid namespace', () => {
        sys.setns(restoreFd, CLONE.NEWPID);
        sys.close(restoreFd);
      });
    }
  }
  if (child.pid === undefined) throw new Error('spawning the container init failed');
  emit('step', `spawn ${process.execPath} ${INIT_SCRIPT} (sync socket on fd 3) → pid ${child.pid}`, 'ok', 'the init is a fresh Node process: namespaces and credentials are per thread, and Node is multi-threaded');
  const channel = new ParentChannel(child.stdio[3] as Socket, child, onLog);
  return { child, pid: child.pid, channel };
}
