import type { ChildLike } from '../process/child.js';
import type { Namespace, Process, Spec } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { spawnInit } from '../process/spawn-init.js';
import { cgroupManagerFromPaths, subCgroupPaths } from '../cgroups/index.js';
import { warmCgroupMigration } from '../cgroups/warm.js';
import { checkExecStatus } from '../status.js';
import { writeFileAtomic } from '../state-store.js';
import type { Context } from './context.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { because } from '../../explain/events.js';
import { inspect } from './inspect.js';
import type { OciState } from '../../spec/state.js';
import { ConsoleServer, relayTerminal } from './console-relay.js';
import { exitStatusForwarding } from './foreground.js';
import { connectConsoleSocket } from '../terminal.js';
import { findNamespace } from '../namespaces.js';
import { spawnStage } from '../process/stage.js';
import { setUpExec } from '../process/container-setup.js';
import { stagePlan } from '../process/stage-plan.js';
import { callerNofile, explainPlan } from '../process/launch-stage.js';
import { killChild } from '../process/launcher.js';
import { heldBounding, lastCap } from '../capabilities.js';
import { planSeccomp, type SeccompPlan } from '../seccomp/plan.js';
import { connectAgent, containerProcessState, sendToAgent } from '../seccomp/agent.js';
import { compileSeccomp, seccompFlags } from '../seccomp/load.js';

// exec: a new process in a running container's namespaces and cgroup, with
// its own args, env, cwd, user and capabilities, through the same C stage as
// `create` (or the Node init for a container with a user namespace).

export interface ExecOptions {
  id: string;
  process: Process;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** fds 3 … 3+n-1 of the caller go on to the process at the same numbers */
  preserveFds?: number;
  /** --cgroup: "[controller:]path" sub-cgroups of the container's to run in */
  cgroups?: string[];
  /** exec into a paused container (the process starts frozen) */
  ignorePaused?: boolean;
}

const PROC_NS: Record<string, string> = { network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', user: 'user', time: 'time' };

/** The container's namespaces, each joined through its init's /proc entry. */
function joinedNamespaces(pid: number, list: Namespace[] | undefined): Namespace[] {
  return (list ?? []).map((n) => ({ ...n, path: `/proc/${pid}/ns/${PROC_NS[n.type]}` }));
}

export async function execInContainer(ctx: Context, opts: ExecOptions): Promise<number> {
  const c = inspect(ctx.root, opts.id);
  checkExecStatus(c.status, opts.ignorePaused === true);
  // The process joins the container's cgroup in a moment: the kernel's wait for that starts now.
  if (c.record.cgroupPaths && process.getuid?.() === 0) void warmCgroupMigration(ctx.sys);
  const cgroupPaths = c.record.cgroupPaths && opts.cgroups?.length ? subCgroupPaths(c.record.cgroupPaths, opts.cgroups) : c.record.cgroupPaths;
  // A frozen cgroup would freeze the new process before its execve (runc hangs there): with
  // --ignore-paused it joins last, so exec returns and the process freezes moments after its
  // execve (one that exits at once may finish first: then there is nothing left to join).
  const join = { paths: cgroupPaths, late: c.status === 'paused' };
  // --preserve-fds: our fds 3…3+n-1 go along, and are moved back to 3… just before execve.
  const preserved = Array.from({ length: opts.preserveFds ?? 0 }, (_, i) => 3 + i);
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) {
    throw new TsrunError('BAD_INPUT', 'a detached exec with --tty needs --console-socket');
  }
  const spec = { ...c.record.spec, process: opts.process, linux: { ...c.record.spec.linux, namespaces: joinedNamespaces(c.record.pid, c.record.spec.linux?.namespaces) } };
  const server = opts.process.terminal && !opts.consoleSocket ? new ConsoleServer(ctx.sys) : undefined;
  const socketPath = opts.process.terminal ? (opts.consoleSocket ?? server?.path) : undefined;
  let started: { pid: number; child: ChildLike };
  let relay: { stop(): Promise<void> } | undefined;
  try {
    // Connected here: inside the container the socket's directory may be out of reach.
    const consoleFd = socketPath ? connectConsoleSocket(ctx.sys, socketPath) : undefined;
    try {
      const userNs = findNamespace(spec.linux.namespaces, 'user');
      started = userNs ? await execWithNodeInit(ctx, c, spec, consoleFd, join, preserved) : await execWithStage(ctx, join, spec, consoleFd, preserved, specState(c));
    } finally {
      if (consoleFd !== undefined) ctx.sys.close(consoleFd);
    }
    if (server) relay = relayTerminal(ctx.sys, server.receiveMaster());
    if (opts.pidFile) because('--pid-file', () => writeFileAtomic(ctx.sys, opts.pidFile!, String(started.pid), 0o644));
  } finally {
    server?.close();
  }
  if (opts.detach) {
    started.child.unref();
    return 0;
  }
  try {
    return await exitStatusForwarding(started.child, started.pid, ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
  } finally {
    await relay?.stop();
  }
}

/**
 * The main thread joins the container's namespaces, finds the binary, spawns
 * the stage there and comes back; the stage joins the cgroup (through us),
 * applies the credentials and execs. Its sync socket closing means execve.
 */
interface CgroupJoin {
  paths: Record<string, string> | undefined;
  /** paused: join after execve */
  late: boolean;
}

function joinIfAlive(sys: Syscalls, paths: Record<string, string>, pid: number): void {
  try {
    cgroupManagerFromPaths(sys, paths).join(pid);
  } catch (err) {
    if (!(err instanceof TsrunError && err.errno === 'ESRCH')) throw err;
  }
}

async function execWithStage(ctx: Context, join: CgroupJoin, spec: Spec, consoleFd: number | undefined, preserved: number[], state: OciState): Promise<{ pid: number; child: ChildLike }> {
  let prepared: ReturnType<typeof setUpExec> | undefined;
  const reason = (n: Namespace): string => `linux.namespaces {type: ${n.type}}: the exec joins the container's`;
  const stage = spawnStage(ctx.sys, spec.linux?.namespaces ?? [], reason, preserved, (level, msg) => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg)), undefined, () => {
    prepared = setUpExec(ctx.sys, spec, consoleFd);
  });
  const { binary, env, ttyFd } = prepared!;
  try {
    if (join.paths && !join.late) cgroupManagerFromPaths(ctx.sys, join.paths).join(stage.pid);
    stage.channel.send('cgroupns', []);
    stage.channel.expect('ok');
    const seccomp = await execSeccomp(spec, ctx);
    const listener = seccomp?.listener;
    if (listener) {
      stage.channel.onListenerFd = (fd) => sendToAgent(ctx.sys, listener.path, containerProcessState(state, stage.pid, listener.metadata), fd);
    }
    const plan = stagePlan({ proc: spec.process!, binary, env, callerNofile: callerNofile(ctx.sys), lastCap: lastCap(), heldBounding: heldBounding(), warn: (m) => ctx.log.warn(m), seccomp });
    // The extra fds follow the sync socket (fd 3) in the stage: 4, 5, …
    if (preserved.length) plan.push(['preserve', `4 ${preserved.length}`]);
    explainPlan(plan);
    stage.channel.send('plan', plan, ttyFd !== undefined ? [{ name: 'tty', fd: ttyFd }] : []);
    stage.channel.expect('eof');
    if (join.paths && join.late) joinIfAlive(ctx.sys, join.paths, stage.pid);
  } catch (err) {
    await killChild(stage.child);
    throw err;
  } finally {
    if (ttyFd !== undefined) ctx.sys.close(ttyFd);
    stage.channel.close();
  }
  return stage;
}

/** The runtime-spec's state fields, for the seccomp agent. */
function specState({ record, status }: ReturnType<typeof inspect>): OciState {
  return { ociVersion: record.ociVersion, id: record.id, status, pid: record.pid, bundle: record.bundle, annotations: record.annotations };
}

async function execSeccomp(spec: Spec, ctx: Context): Promise<{ bpf: Buffer; flags: number; listener: SeccompPlan['listener'] } | undefined> {
  if (!spec.linux?.seccomp) return undefined;
  const { KoffiSeccomp } = await import('../seccomp/koffi-libseccomp.js');
  const plan = planSeccomp(spec.linux.seccomp);
  return { bpf: compileSeccomp(new KoffiSeccomp(), plan, (m) => ctx.log.debug(m)), flags: seccompFlags(plan), listener: plan.listener };
}

/** A container with a user namespace: the Node init joins it (the CLI cannot). */
async function execWithNodeInit(ctx: Context, c: ReturnType<typeof inspect>, spec: Spec, consoleFd: number | undefined, join: CgroupJoin, preserved: number[]): Promise<{ pid: number; child: ChildLike }> {
  // SCMP_ACT_NOTIFY: connected here (the path is the host's); the init sends the listener fd on it.
  const listener = spec.linux?.seccomp ? planSeccomp(spec.linux.seccomp).listener : undefined;
  const agentSock = listener ? connectAgent(ctx.sys, listener.path) : undefined;
  const extra = [...(consoleFd === undefined ? [] : [consoleFd]), ...preserved, ...(agentSock === undefined ? [] : [agentSock])];
  let init: Awaited<ReturnType<typeof spawnInit>>;
  try {
    init = await spawnInit(ctx.sys, spec.linux?.namespaces, (level, msg) => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg)), undefined, extra);
  } finally {
    if (agentSock !== undefined) ctx.sys.close(agentSock);
  }
  try {
    init.channel.send({
      type: 'config',
      mode: 'exec',
      id: c.record.id,
      spec,
      rootfs: c.record.rootfs,
      bundle: c.record.bundle,
      noPivot: false,
      consoleFd: consoleFd === undefined ? undefined : 4,
      preserveFds: preserved.length ? { from: consoleFd === undefined ? 4 : 5, count: preserved.length } : undefined,
      seccompAgentFd: agentSock === undefined ? undefined : 4 + extra.length - 1,
      explain: ctx.explain,
    });
    await init.channel.expect('nsReady');
    if (join.paths && !join.late) cgroupManagerFromPaths(ctx.sys, join.paths).join(init.pid);
    const state = specState(c);
    const seccompAgent = listener ? containerProcessState(state, init.pid, listener.metadata) : undefined;
    init.channel.send({ type: 'continue', state, seccompAgent });
    await init.channel.expect('ready');
    if (join.paths && join.late) joinIfAlive(ctx.sys, join.paths, init.pid);
  } catch (err) {
    init.child.kill('SIGKILL');
    throw err;
  } finally {
    init.channel.close();
  }
  return init;
}
