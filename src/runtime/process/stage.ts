import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Namespace } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { TsrunError } from '../../errors.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from '../terminal.js';
import { StageChannel } from './stage-channel.js';
import { inNamespaces } from './main-thread.js';
import { because, emit } from '../../explain/events.js';
import { O } from '../../sys/constants.js';
import { SpawnedChild, type ChildLike } from './child.js';

// Spawning the C stage (stage.c) while the main thread is inside the
// container's namespaces: the child inherits them, and as the first child in
// a new pid namespace it is that namespace's PID 1.

/** Next to this module in both layouts (dist/runtime/process/ and the bundle in dist/). */
export const STAGE_BINARY = fileURLToPath(new URL('./stage', import.meta.url));

export interface SpawnedStage {
  pid: number;
  child: ChildLike;
  channel: StageChannel;
}

/** How a stage process is started: the real spawn, or a test's stand-in. `binaryFd` is the stage, opened on the host. */
export type StageSpawner = (sys: Syscalls, syncFd: number, extraFds: number[], binaryFd: number) => ChildLike;

/**
 * fd 3 is the sync socket; extra fds (exec.fifo) follow from fd 4, then the
 * stage binary itself: the child runs it through /proc/self/fd, since inside
 * a running container's mount namespace (exec) the host path does not exist.
 * No environment: it has none to need.
 */
export const spawnStageProcess: StageSpawner = (sys, syncFd, extraFds, binaryFd) => {
  const at = 4 + extraFds.length;
  return new SpawnedChild(sys, sys.spawn(`/proc/self/fd/${at}`, [STAGE_BINARY], [], [0, 1, 2, syncFd, ...extraFds, binaryFd]));
};

export function spawnStage(
  sys: Syscalls,
  namespaces: Namespace[],
  reason: (n: Namespace) => string,
  extraFds: number[],
  onLog: (level: 'warning' | 'debug', msg: string) => void,
  spawner: StageSpawner = spawnStageProcess,
  inside?: () => void,
): SpawnedStage {
  if (!existsSync(STAGE_BINARY)) {
    throw new TsrunError('NOT_SUPPORTED', `containers need ${STAGE_BINARY}, which the build compiles with cc`, { hint: 'install gcc and run npm run build' });
  }
  const binary = because('the stage binary, opened while its host path resolves', () => sys.open(STAGE_BINARY, O.RDONLY | O.CLOEXEC));
  let mine = -1;
  let theirs = -1;
  let child: ChildLike;
  try {
    [mine, theirs] = because('the sync socket between the runtime and the stage', () => sys.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    child = inNamespaces(sys, namespaces, reason, () => {
      inside?.();
      return spawner(sys, theirs, extraFds, binary);
    });
  } catch (err) {
    if (mine >= 0) sys.close(mine);
    throw err;
  } finally {
    because('the stage has its own copies', () => {
      if (theirs >= 0) sys.close(theirs);
      sys.close(binary);
    });
  }
  if (child.pid === undefined) {
    sys.close(mine);
    throw new TsrunError('INIT', `could not start ${STAGE_BINARY}`);
  }
  emit('step', `spawn ${STAGE_BINARY} (sync socket on fd 3) → pid ${child.pid}`, 'ok', 'the container\'s process until execve: a small static program, born in the namespaces the main thread is in');
  return { pid: child.pid, child, channel: new StageChannel(sys, mine, onLog) };
}
