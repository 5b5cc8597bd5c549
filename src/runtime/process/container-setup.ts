import type { Spec } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { O } from '../../sys/constants.js';
import { findNamespace } from '../namespaces.js';
import { loopbackUp } from '../loopback.js';
import { enterRoot, maskPaths, readonlyPaths, remountRootReadonly, setNamesInUts, writeSysctls } from '../rootfs/finish.js';
import { lookPath } from './lookpath.js';
import { checkCwd, containerEnv, execer } from './setup-steps.js';
import { setupRootfs } from '../rootfs/setup.js';
import { containerTerminal } from '../terminal.js';
import { runHooksSync } from '../../oci-hooks/run-sync.js';
import type { OciState } from '../../oci-hooks/outcome.js';
import { because } from '../../explain/events.js';
import { writeProcFile } from '../proc-write.js';

// What the CLI's main thread does while it is inside a new container's
// namespaces (main-thread.ts): the runtime-spec's steps from the mounts to the
// binary lookup. Synchronous only: the threadpool still sees the host.

export interface SetUpInput {
  spec: Spec;
  rootfs: string;
  bundle: string;
  noPivot: boolean;
  /** the connected console socket, when process.terminal */
  consoleFd?: number;
  /** the stage: the container's process */
  pid: number;
  /** for createContainer hooks */
  state: OciState;
}

export interface SetUpResult {
  binary: string;
  env: string[];
  /** the container's root, for a stage whose root pivot_root did not move */
  rootFd: number;
  /** the pty slave, for the stage's stdio */
  ttyFd?: number;
}

export function setUpContainer(sys: Syscalls, i: SetUpInput): SetUpResult {
  const { spec } = i;
  const ns = spec.linux?.namespaces;
  const netNs = findNamespace(ns, 'network');
  if (netNs && !netNs.path) because('a new network namespace: bring lo up, as runc and crun do', () => loopbackUp(sys));
  // Our own umask (the main thread has its own fs struct): restored below.
  const umask = because('device nodes and mount points get exactly the modes the config asks for', () => sys.umask(0));
  const opened: number[] = [];
  try {
    const hasMountNs = findNamespace(ns, 'mount') !== undefined;
    if (hasMountNs) setupRootfs(sys, { spec, rootfs: i.rootfs, bundle: i.bundle, cgroupPid: i.pid });
    // In the container's namespaces, before pivot_root: the hook's path resolves in the runtime's root.
    runHooksSync('createContainer', spec.hooks?.createContainer, i.state);
    // Before pivot_root, unlike runc's init: the paths are found through an fd of the rootfs and
    // mounted on as /proc/self/fd/N, and after pivot_root this thread is not in the container's /proc.
    // Sysctls before the read-only paths (/proc/sys): this thread is in the container's namespaces, which is what they apply to.
    writeSysctls(sys, spec.linux?.sysctl);
    if (hasMountNs) {
      readonlyPaths(sys, spec.linux?.readonlyPaths, i.rootfs);
      maskPaths(sys, spec.linux?.maskedPaths, i.rootfs);
    }
    enterRoot(sys, i.rootfs, { hasMountNs, noPivot: i.noPivot, propagation: spec.linux?.rootfsPropagation });
    setNamesInUts(sys, spec, findNamespace(ns, 'uts') !== undefined);
    const proc = spec.process!;
    if (i.consoleFd !== undefined) {
      opened.push(because('process.terminal: a pty in the container; the master goes to the console socket', () => containerTerminal(sys, i.consoleFd!, proc.consoleSize, proc.user, hasMountNs)));
    }
    if (spec.root?.readonly && hasMountNs) because('root.readonly', () => remountRootReadonly(sys));
    checkCwd(proc.cwd);
    const binary = lookPath(proc.args[0]!, proc.env, execer(proc));
    const env = containerEnv(spec);
    const rootFd = because('the container\'s root, for the stage (pivot_root moved its root, --no-pivot and chroot did not)', () => sys.open('/', O.RDONLY | O.DIRECTORY | O.CLOEXEC));
    return { binary, env, rootFd, ttyFd: opened[0] };
  } catch (err) {
    for (const fd of opened) sys.close(fd);
    throw err;
  } finally {
    sys.umask(umask);
  }
}

/** exec: inside a running container, what the new process needs before its stage is spawned. */
export function setUpExec(sys: Syscalls, spec: Spec, consoleFd: number | undefined): Omit<SetUpResult, 'rootFd'> {
  const proc = spec.process!;
  const ttyFd = consoleFd === undefined
    ? undefined
    // The container's /dev/console is left alone: a bind to this pty would outlive the exec.
    : because('process.terminal: a pty for the exec', () => containerTerminal(sys, consoleFd, proc.consoleSize, proc.user, false));
  try {
    checkCwd(proc.cwd);
    return { binary: lookPath(proc.args[0]!, proc.env, execer(proc)), env: containerEnv(spec), ttyFd };
  } catch (err) {
    if (ttyFd !== undefined) sys.close(ttyFd);
    throw err;
  }
}

/** oom_score_adj of the container's process, written from the host. */
export function writeOomScoreAdj(sys: Syscalls, pid: number, value: number | undefined): void {
  if (value !== undefined) because('process.oomScoreAdj', () => writeProcFile(sys, `/proc/${pid}/oom_score_adj`, String(value)));
}
