import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { IdMapping, Namespace } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { STAGE_BINARY, stageArgs, writeIdMaps } from './userns.js';
import { existsSync } from 'node:fs';
import type { Syscalls } from '../../sys/syscalls.js';
import { CLONE, O } from '../../sys/constants.js';
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

export interface IdMaps {
  uid: IdMapping[];
  gid: IdMapping[];
}

export async function spawnInit(
  sys: Syscalls,
  namespaces: Namespace[] | undefined,
  onLog: (level: 'warning' | 'debug', msg: string) => void,
  idMaps?: IdMaps,
  extraFds: number[] = [],
): Promise<SpawnedInit> {
  const userNs = findNamespace(namespaces, 'user');
  if (userNs) return spawnInUserNs(sys, namespaces, userNs, onLog, idMaps, extraFds);
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
    child = spawn(process.execPath, [INIT_SCRIPT], spawnOptions(extraFds));
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

// A small environment: NODE_OPTIONS or NODE_EXTRA_CA_CERTS would slow the init's boot.
// fd 3 is the sync socket; extra fds (exec.fifo, the console socket) follow from fd 4.
const spawnOptions = (extraFds: number[]): SpawnOptions => ({ stdio: ['inherit', 'inherit', 'inherit', 'pipe', ...extraFds], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' });

/** Through the single-threaded stage (userns.ts); it makes or joins the pid namespace too. */
async function spawnInUserNs(
  sys: Syscalls,
  namespaces: Namespace[] | undefined,
  userNs: Namespace,
  onLog: (level: 'warning' | 'debug', msg: string) => void,
  idMaps: IdMaps | undefined,
  extraFds: number[],
): Promise<SpawnedInit> {
  const pidNs = findNamespace(namespaces, 'pid');
  if (!userNs.path && pidNs?.path) {
    throw new TsrunError('NOT_SUPPORTED', 'joining a pid namespace from a new user namespace is not supported', { jsonPath: 'linux.namespaces' });
  }
  if (!existsSync(STAGE_BINARY)) {
    throw new TsrunError('NOT_SUPPORTED', `user namespaces need ${STAGE_BINARY}, which the build compiles with cc`, { hint: 'install gcc and run npm run build' });
  }
  const args = stageArgs(process.execPath, INIT_SCRIPT, { newPid: !!pidNs && !pidNs.path, joinUser: userNs.path, joinPid: pidNs?.path });
  const child: ChildProcess = spawn(STAGE_BINARY, args, spawnOptions(extraFds));
  if (child.pid === undefined) throw new TsrunError('INIT', `could not start ${STAGE_BINARY}`);
  const channel = new ParentChannel(child.stdio[3] as Socket, child, onLog);
  try {
    if (!userNs.path) {
      await channel.expect('userns');
      writeIdMaps(sys, child.pid, idMaps?.uid ?? [], idMaps?.gid ?? []);
      channel.send({ type: 'mapped' });
    }
    const { pid } = await channel.expect('initPid');
    emit('step', `spawn ${STAGE_BINARY} ${args.join(' ')} → stage ${child.pid}, init ${pid}`, 'ok', 'linux.namespaces {type: user}: Node cannot unshare a user namespace itself (it is multi-threaded)');
    return { child, pid, channel };
  } catch (err) {
    child.kill('SIGKILL');
    channel.close();
    throw err;
  }
}
