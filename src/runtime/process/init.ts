import { existsSync, readdirSync, writeSync } from 'node:fs';
import type { Spec } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { CLOSE_RANGE_CLOEXEC, O, PR } from '../../sys/constants.js';
import { enterNamespaces, findNamespace } from '../namespaces.js';
import { loopbackUp } from '../loopback.js';
import { enterRoot, maskPaths, readonlyPaths, remountRootReadonly, setNamesInUts, writeSysctls } from '../rootfs/finish.js';
import { setupRootfs } from '../rootfs/setup.js';
import { lookPath } from './lookpath.js';
import { checkCwd, containerEnv, execer } from './setup-steps.js';
export { containerEnv } from './setup-steps.js';
import { applyNoNewPrivileges, applyRlimits, applyUserAndCaps } from './credentials.js';
import type { InitConfig, InitMessage, ParentMessage } from './messages.js';
import { TsrunError } from '../../errors.js';
import { runHooksSync } from '../../oci-hooks/run-sync.js';
import { setupTerminal } from '../terminal.js';
import { planSeccomp, type SeccompPlan } from '../seccomp/plan.js';
import { because, emit } from '../../explain/events.js';
import { writeProcFile } from '../proc-write.js';
import { compileSeccomp, seccompFlags } from '../seccomp/load.js';
import type { SeccompLib } from '../seccomp/libseccomp.js';
import type { OciState } from '../../oci-hooks/outcome.js';
import type { ContainerProcessState } from '../seccomp/agent.js';

// The container's init, step by step. It runs synchronously on the main
// thread of a freshly spawned Node process (see DESIGN.md for why).

export interface Channel {
  send(msg: InitMessage): void;
  expect<T extends ParentMessage['type']>(type: T): Extract<ParentMessage, { type: T }>;
}

const SIGKILL = 9;

/** Namespaces, then (once the parent says so) the rootfs. Returns what exec needs. */
export function prepare(sys: Syscalls, ch: Channel, cfg: InitConfig): { binary: string; fifoFd: number; state: OciState; seccompAgent?: ContainerProcessState } {
  const spec = cfg.spec;
  const ns = spec.linux?.namespaces;
  const userNs = findNamespace(ns, 'user');
  // In a new user namespace, become its root first (the uid change would also clear PDEATHSIG).
  if (userNs && !userNs.path) because('linux.uidMappings: become root of the new user namespace', () => becomeNamespaceRoot(sys, spec));
  because('the init dies with the runtime until create has saved its state', () => sys.prctl(PR.SET_PDEATHSIG, SIGKILL));
  // Network before mount: a netns path such as /run/netns/x lives in the host's mount namespace.
  enterNamespaces(sys, ns, ['ipc', 'uts', 'network', 'mount']);
  ch.send({ type: 'nsReady' });
  const { state, seccompAgent } = ch.expect('continue');
  // After the parent placed us in our cgroup, so the cgroup namespace is rooted there.
  enterNamespaces(sys, ns, ['cgroup']);
  const netNs = findNamespace(ns, 'network');
  if (netNs && !netNs.path) because('a new network namespace: bring lo up, as runc and crun do', () => loopbackUp(sys));
  because('device nodes and mount points get exactly the modes the config asks for', () => sys.umask(0));
  const hasMountNs = findNamespace(ns, 'mount') !== undefined;
  if (hasMountNs) setupRootfs(sys, cfg);
  // In the container's namespaces, but before pivot_root: the path resolves in the runtime's root.
  runHooksSync('createContainer', spec.hooks?.createContainer, state);
  if (spec.process?.oomScoreAdj !== undefined) because('process.oomScoreAdj', () => writeProcFile(sys, '/proc/self/oom_score_adj', String(spec.process!.oomScoreAdj)));
  const fifoFd = cfg.fifoFd ?? -1;
  if (fifoFd < 0) throw new TsrunError('INIT', 'the runtime passed no exec.fifo');
  const consoleSock = spec.process?.terminal ? (cfg.consoleFd ?? -1) : -1;
  enterRoot(sys, cfg.rootfs, { hasMountNs, noPivot: cfg.noPivot, propagation: spec.linux?.rootfsPropagation });
  setNamesInUts(sys, spec, findNamespace(ns, 'uts') !== undefined);
  writeSysctls(sys, spec.linux?.sysctl);
  readonlyPaths(sys, spec.linux?.readonlyPaths);
  maskPaths(sys, spec.linux?.maskedPaths);
  if (consoleSock >= 0) because('process.terminal: a pty in the container; the master goes to the console socket', () => setupTerminal(sys, consoleSock, spec.process?.consoleSize, spec.process!.user));
  if (spec.root?.readonly) because('root.readonly', () => remountRootReadonly(sys));
  const proc = spec.process!;
  checkCwd(proc.cwd);
  const binary = lookPath(proc.args[0]!, proc.env, execer(proc));
  return { binary, fifoFd, state, seccompAgent };
}

/** setresgid/setresuid to 0 when 0 is mapped: full capabilities in the namespace, owned files as its root. */
function becomeNamespaceRoot(sys: Syscalls, spec: Spec): void {
  const mapped = (maps: { containerID: number }[] | undefined): boolean => (maps ?? []).some((m) => m.containerID === 0);
  if (mapped(spec.linux?.gidMappings)) sys.setresgid(0, 0, 0);
  if (mapped(spec.linux?.uidMappings)) sys.setresuid(0, 0, 0);
}

/**
 * exec: join a running container. Every namespace is given by path; the
 * mount namespace goes last (after it, the host's /proc paths are gone).
 */
export function prepareExec(sys: Syscalls, ch: Channel, cfg: InitConfig): { binary: string; seccompAgent?: ContainerProcessState } {
  const spec = cfg.spec;
  const ns = spec.linux?.namespaces;
  sys.prctl(PR.SET_PDEATHSIG, SIGKILL);
  const consoleSock = spec.process?.terminal ? (cfg.consoleFd ?? -1) : -1;
  enterNamespaces(sys, ns, ['ipc', 'uts', 'network']);
  ch.send({ type: 'nsReady' });
  const { seccompAgent } = ch.expect('continue');
  enterNamespaces(sys, ns, ['cgroup', 'mount']);
  if (consoleSock >= 0) because('process.terminal: a pty for the exec (the container\'s /dev/console is left alone)', () => setupTerminal(sys, consoleSock, spec.process?.consoleSize, spec.process!.user, false));
  const proc = spec.process!;
  checkCwd(proc.cwd);
  const binary = lookPath(proc.args[0]!, proc.env, execer(proc));
  sys.prctl(PR.SET_PDEATHSIG, 0);
  return { binary, seccompAgent };
}

/** A filter compiled before ready: libseccomp's refusals and debug lines come while the runtime still listens. */
interface CompiledFilter {
  plan: SeccompPlan;
  bpf: Buffer;
  flags: number;
}

function loadFilter(sys: Syscalls, lib: SeccompLib, filter: CompiledFilter, agent: SeccompAgent | undefined): void {
  const { plan } = filter;
  const listener = lib.loadBpf(filter.bpf, filter.flags);
  if (plan.listener) {
    // The runtime connected to listenerPath and sent what the agent is told (ContainerProcessState).
    if (!agent) throw new TsrunError('INIT', 'linux.seccomp.listenerPath: the runtime passed no connection to the seccomp agent');
    because('linux.seccomp.listenerPath: the listener fd goes to the seccomp agent with the container process state', () => {
      try {
        const data = Buffer.from(JSON.stringify(agent.message));
        let sent = sys.sendmsgFds(agent.fd, data, [listener]);
        while (sent < data.length) sent += sys.sendto(agent.fd, data.subarray(sent), 0, null);
      } finally {
        sys.close(listener);
        sys.close(agent.fd);
      }
    });
  }
  emit('syscall', `seccomp(SECCOMP_SET_MODE_FILTER, <filter: default 0x${plan.defaultAction.toString(16)}, ${plan.rules.length} rules>)`);
}

/**
 * exec.fifo is reopened for writing through /proc/self/fd (the fd is O_PATH):
 * checked before ready, so a container without /proc fails create.
 */
export function checkFifoReachable(fifoFd: number): void {
  if (!existsSync(`/proc/self/fd/${fifoFd}`)) {
    throw new TsrunError('INIT', 'cannot reach exec.fifo through /proc/self/fd (is /proc mounted in the container?)');
  }
}

/**
 * Blocks until `tsrun start` opens exec.fifo, and writes "0". The fd was opened
 * O_PATH by the runtime; exec.fifo is 0622, so the container's user may open
 * it for writing. The write end stays open (close-on-exec) and is returned:
 * an error before execve is written on it, for `start` to report.
 */
export function waitForStart(sys: Syscalls, fifoFd: number): number {
  checkFifoReachable(fifoFd);
  const fd = because('exec.fifo: blocks until `tsrun start` opens it for reading', () => sys.open(`/proc/self/fd/${fifoFd}`, O.WRONLY | O.CLOEXEC));
  writeSync(fd, '0');
  because('exec.fifo: done with the O_PATH fd', () => sys.close(fifoFd));
  return fd;
}

/** The connection to the seccomp agent (inherited fd) and what to send it. */
export interface SeccompAgent {
  fd: number;
  message: ContainerProcessState;
}

/** Where the init's warnings and debug lines go: the sync socket, to the runtime's logger. */
export interface InitLog {
  warn(m: string): void;
  debug(m: string): void;
}

/** What the steps after exec.fifo need: the binary, its environment, and (with no_new_privs) the filter to load last. */
export interface ReadyToExec {
  binary: string;
  env: string[];
  /** with no_new_privs: compiled before ready, loaded right before execve */
  lateSeccomp?: CompiledFilter;
}

/**
 * Before "ready" (runc's order, as the C stage): everything that can fail
 * without waiting for `start`, so that its failure fails `create` (or `exec`).
 * Rlimits, seccomp without no_new_privs (it needs CAP_SYS_ADMIN), cwd,
 * bounding set, groups/gid/uid, capabilities, ambient, no_new_privs.
 * capset, the bounding drop and no_new_privs are per thread: this runs on the
 * main thread, the one that later spawns the startContainer hooks and execs.
 */
export function applyProcess(
  sys: Syscalls,
  cfg: InitConfig,
  binary: string,
  log: InitLog,
  seccompLib: () => SeccompLib,
  agent?: SeccompAgent,
): ReadyToExec {
  const proc = cfg.spec.process!;
  // As root: /etc/passwd may not be readable by the container's user.
  const env = containerEnv(cfg.spec);
  const plan = cfg.spec.linux?.seccomp ? planSeccomp(cfg.spec.linux.seccomp) : undefined;
  const filter = plan
    ? because('linux.seccomp: compiled to BPF by libseccomp now, loaded later', () => ({ plan, bpf: compileSeccomp(seccompLib(), plan, log.debug), flags: seccompFlags(plan) }))
    : undefined;
  because(proc.user.umask !== undefined ? 'process.user.umask' : 'no process.user.umask: the usual 022', () => sys.umask(proc.user.umask ?? 0o022));
  applyRlimits(sys, proc, cfg.callerNofile);
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we still have it.
  if (filter && !proc.noNewPrivileges) because('linux.seccomp (before dropping CAP_SYS_ADMIN: no no_new_privs)', () => loadFilter(sys, seccompLib(), filter, agent));
  // As runc: entered as root, so a directory the user may not enter still works; refused there, tried again as the user.
  let cwdLater = false;
  because('process.cwd (as root)', () => {
    try {
      sys.chdir(proc.cwd);
    } catch (err) {
      if (!['EACCES', 'EPERM'].includes((err as { errno?: string }).errno ?? '')) throw err;
      cwdLater = true;
    }
  });
  applyUserAndCaps(sys, proc, log.warn, log.debug);
  // As runc: a uid or gid change clears the parent-death signal, and create has not saved the state yet.
  if (cfg.mode === 'create') because('the uid change cleared the parent-death signal: the init dies with the runtime until create has saved its state', () => sys.prctl(PR.SET_PDEATHSIG, SIGKILL));
  if (cwdLater) because('process.cwd (as the user)', () => sys.chdir(proc.cwd));
  applyNoNewPrivileges(sys, proc);
  return { binary, env, lateSeccomp: filter && proc.noNewPrivileges ? filter : undefined };
}

/**
 * After "0" on exec.fifo and the startContainer hooks (create), or right
 * after ready (exec): signals, fds, then seccomp with no_new_privs (last, so
 * the filter only has to allow execve), then execve. Never returns.
 * The signal reset comes this late on purpose: libuv's SIGCHLD handler must
 * stay while hooks run, and with SIGPIPE at its default a write to a runtime
 * that went away would kill the init without a word.
 */
export function execReady(sys: Syscalls, cfg: InitConfig, r: ReadyToExec, seccompLib: () => SeccompLib, agent?: SeccompAgent): never {
  const proc = cfg.spec.process!;
  because('Node ignores SIGPIPE and SIGXFSZ, and ignored signals survive execve', () => {
    for (let sig = 1; sig <= 31; sig++) if (sig !== 9 && sig !== 19) sys.resetSignal(sig);
    sys.unblockAllSignals();
  });
  because('no fd of the runtime may leak into the container', () => cloexecFrom3(sys));
  const keep = cfg.preserveFds;
  if (keep && keep.count > 0) {
    // In increasing order: each target (3+i) lies below its source, so no source is overwritten before it is copied.
    because('--preserve-fds: the caller\'s fds go on to the process at 3, 4, … (dup3 without O_CLOEXEC)', () => {
      for (let i = 0; i < keep.count; i++) sys.dup3(keep.from + i, 3 + i, 0);
    });
  }
  because('Node marks stdio close-on-exec at start-up; the container needs fds 0-2', () => {
    for (const fd of [0, 1, 2]) {
      try {
        sys.fcntlSetCloexec(fd, false);
      } catch {
        // a closed stdio fd stays closed
      }
    }
  });
  const late = r.lateSeccomp;
  if (late) because('linux.seccomp (last, so the filter only has to allow execve)', () => loadFilter(sys, seccompLib(), late, agent));
  return because('process.args', () => sys.execve(r.binary, proc.args, r.env));
}

/** fds > 2 close on exec; where close_range is missing or a seccomp filter refuses it, each fd of /proc/self/fd (as runc does). */
function cloexecFrom3(sys: Syscalls): void {
  try {
    sys.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
    return;
  } catch (err) {
    if (!['EPERM', 'ENOSYS', 'EINVAL'].includes((err as { errno?: string }).errno ?? '')) throw err;
  }
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      sys.fcntlSetCloexec(fd, true);
    } catch {
      // the directory's own fd, closed by now
    }
  }
}
