import type { Syscalls } from '../../sys/syscalls.js';
import type { Spec } from '../../spec/types.js';
import { AT, AT_FDCWD, MS, O, OPEN_TREE_CLONE } from '../../sys/constants.js';
import { parseMountOptions } from '../rootfs/mount-options.js';
import { bindSource } from '../rootfs/mounts.js';
import { planSeccomp } from '../seccomp/plan.js';
import { connectAgent, containerProcessState } from '../seccomp/agent.js';
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
  // Bind sources are cloned here, as real root on the host: the mapped root may not be able to reach them.
  const sources = openBindSources(sys, spec, i.bundle);
  const bindSourceFds: Record<number, number> = {};
  for (const [index, fd] of sources) {
    bindSourceFds[index] = 4 + fds.length;
    fds.push(fd);
  }
  // SCMP_ACT_NOTIFY: connected here (the path is the host's); the init sends the listener fd on it at its seccomp load.
  const listener = spec.linux?.seccomp ? planSeccomp(spec.linux.seccomp).listener : undefined;
  let agentFd: number | undefined;
  let init: Awaited<ReturnType<typeof spawnInit>>;
  try {
    if (listener) {
      const sock = connectAgent(sys, listener.path);
      agentFd = 4 + fds.length;
      fds.push(sock);
    }
    init = await spawnInit(sys, spec.linux?.namespaces, i.onLog, { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] }, fds);
  } finally {
    for (const [, fd] of sources) sys.close(fd);
    if (agentFd !== undefined) sys.close(fds[agentFd - 4]!);
  }
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
      bindSourceFds,
      seccompAgentFd: agentFd,
      callerNofile: readNofile(process.ppid),
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
      const seccompAgent = listener ? containerProcessState({ ...state, status: 'creating', pid: init.pid }, init.pid, listener.metadata) : undefined;
      ch.send({ type: 'continue', state, seccompAgent });
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

/**
 * [mount index, fd] of a detached copy (open_tree) of each bind mount source,
 * which the init attaches with move_mount; a source that does not open is
 * left to the init to report.
 */
function openBindSources(sys: Syscalls, spec: Spec, bundle: string): [number, number][] {
  const out: [number, number][] = [];
  (spec.mounts ?? []).forEach((m, index) => {
    const opts = parseMountOptions(m.options);
    if (m.type !== 'bind' && !opts.isBind) return;
    try {
      const flags = OPEN_TREE_CLONE | O.CLOEXEC | ((opts.flags & MS.REC) !== 0 ? AT.RECURSIVE : 0);
      out.push([index, sys.openTree(AT_FDCWD, bindSource(bundle, m), flags)]);
    } catch {
      // missing or unreachable: the init names it with its mount
    }
  });
  return out;
}
