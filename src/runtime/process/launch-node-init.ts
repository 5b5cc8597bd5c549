import type { Syscalls } from '../../sys/syscalls.js';
import { readNofile } from '../../sys/proc.js';
import { spawnInit } from './spawn-init.js';
import { killChild, type LaunchInput, type Launcher } from './launcher.js';

// Containers with a user namespace: a Node init, started through the
// single-threaded userns-stage (the CLI cannot enter a user namespace), does
// the set-up from inside, as tsrun did for every container before the C stage.

export async function launchNodeInit(sys: Syscalls, i: LaunchInput): Promise<Launcher> {
  const { spec } = i;
  // From fd 4: exec.fifo, the console socket, then the preserved fds.
  const fds = [i.fifoFd, ...(i.consoleFd !== undefined ? [i.consoleFd] : [])];
  const preserved = i.preserved ?? [];
  const preserveFrom = 4 + fds.length;
  fds.push(...preserved);
  const init = await spawnInit(sys, spec.linux?.namespaces, i.onLog, { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] }, fds);
  const ch = init.channel;
  try {
    ch.send({
      type: 'config',
      mode: 'create',
      id: i.id,
      spec,
      rootfs: i.rootfs,
      bundle: i.bundle,
      fifoFd: 4,
      consoleFd: i.consoleFd !== undefined ? 5 : undefined,
      noPivot: i.noPivot,
      preserveFds: preserved.length ? { from: preserveFrom, count: preserved.length } : undefined,
      callerNofile: readNofile(process.ppid),
      debug: false,
      explain: i.explain,
    });
    await ch.expect('nsReady');
  } catch (err) {
    ch.close();
    await killChild(init.child);
    throw err;
  }
  return {
    pid: init.pid,
    child: init.child,
    async cgroupJoined() {},
    async finish(state) {
      ch.send({ type: 'continue', state });
      await ch.expect('ready');
    },
    async release() {
      ch.send({ type: 'release' });
      // The init holds PDEATHSIG until it has read "release": exiting before its answer would kill it.
      await ch.expect('released');
      ch.close();
    },
    async abort() {
      ch.close();
      await killChild(init.child);
    },
  };
}
