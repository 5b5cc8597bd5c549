import type { ChildProcess } from 'node:child_process';
import type { Namespace, Process, Spec } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { spawnInit } from '../process/spawn-init.js';
import { cgroupManagerFromPaths } from '../cgroups/index.js';
import { writeFileAtomic } from '../state-store.js';
import type { Context } from './context.js';
import { inspect } from './inspect.js';
import { ConsoleServer, relayTerminal } from './console-relay.js';
import { exitStatus, forwardSignals } from './foreground.js';
import { connectConsoleSocket } from '../terminal.js';
import { findNamespace } from '../namespaces.js';
import { spawnStage } from '../process/stage.js';
import { setUpExec } from '../process/container-setup.js';
import { stagePlan } from '../process/stage-plan.js';
import { callerNofile, explainPlan } from '../process/launch-stage.js';
import { killChild } from '../process/launcher.js';
import { lastCap } from '../capabilities.js';
import { planSeccomp } from '../seccomp/plan.js';
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
}

const PROC_NS: Record<string, string> = { network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', user: 'user', time: 'time' };

/** The container's namespaces, each joined through its init's /proc entry. */
function joinedNamespaces(pid: number, list: Namespace[] | undefined): Namespace[] {
  return (list ?? []).map((n) => ({ ...n, path: `/proc/${pid}/ns/${PROC_NS[n.type]}` }));
}

export async function execInContainer(ctx: Context, opts: ExecOptions): Promise<number> {
  const c = inspect(ctx.root, opts.id);
  if (c.status !== 'running' && c.status !== 'created') {
    throw new TsrunError('BAD_STATE', `cannot exec in container "${opts.id}": it is ${c.status}`);
  }
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) {
    throw new TsrunError('BAD_INPUT', 'a detached exec with --tty needs --console-socket');
  }
  const spec = { ...c.record.spec, process: opts.process, linux: { ...c.record.spec.linux, namespaces: joinedNamespaces(c.record.pid, c.record.spec.linux?.namespaces) } };
  const server = opts.process.terminal && !opts.consoleSocket ? new ConsoleServer(ctx.sys) : undefined;
  const socketPath = opts.process.terminal ? (opts.consoleSocket ?? server?.path) : undefined;
  let started: { pid: number; child: ChildProcess };
  let relay: { stop(): void } | undefined;
  try {
    // Connected here: inside the container the socket's directory may be out of reach.
    const consoleFd = socketPath ? connectConsoleSocket(ctx.sys, socketPath) : undefined;
    try {
      const userNs = findNamespace(spec.linux.namespaces, 'user');
      started = userNs ? await execWithNodeInit(ctx, c, spec, consoleFd) : await execWithStage(ctx, c.record.cgroupPaths, spec, consoleFd);
    } finally {
      if (consoleFd !== undefined) ctx.sys.close(consoleFd);
    }
    if (server) relay = relayTerminal(ctx.sys, server.receiveMaster());
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(started.pid), 0o644);
  } finally {
    server?.close();
  }
  if (opts.detach) {
    started.child.unref();
    return 0;
  }
  const stopForwarding = forwardSignals(started.pid, ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
  try {
    return await exitStatus(started.child);
  } finally {
    relay?.stop();
    stopForwarding();
  }
}

/**
 * The main thread joins the container's namespaces, finds the binary, spawns
 * the stage there and comes back; the stage joins the cgroup (through us),
 * applies the credentials and execs. Its sync socket closing means execve.
 */
async function execWithStage(ctx: Context, cgroupPaths: Record<string, string> | undefined, spec: Spec, consoleFd: number | undefined): Promise<{ pid: number; child: ChildProcess }> {
  let prepared: ReturnType<typeof setUpExec> | undefined;
  const reason = (n: Namespace): string => `linux.namespaces {type: ${n.type}}: the exec joins the container's`;
  const stage = spawnStage(ctx.sys, spec.linux?.namespaces ?? [], reason, [], (level, msg) => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg)), undefined, () => {
    prepared = setUpExec(ctx.sys, spec, consoleFd);
  });
  const { binary, env, ttyFd } = prepared!;
  try {
    if (cgroupPaths) cgroupManagerFromPaths(cgroupPaths).join(stage.pid);
    stage.channel.send('cgroupns', []);
    stage.channel.expect('ok');
    const plan = stagePlan({ proc: spec.process!, binary, env, callerNofile: callerNofile(ctx.sys), lastCap: lastCap(), warn: (m) => ctx.log.warn(m), seccomp: await execSeccomp(spec, ctx) });
    explainPlan(plan);
    stage.channel.send('plan', plan, ttyFd !== undefined ? [{ name: 'tty', fd: ttyFd }] : []);
    stage.channel.expect('eof');
  } catch (err) {
    await killChild(stage.child);
    throw err;
  } finally {
    if (ttyFd !== undefined) ctx.sys.close(ttyFd);
    stage.channel.close();
  }
  return stage;
}

async function execSeccomp(spec: Spec, ctx: Context): Promise<{ bpf: Buffer; flags: number } | undefined> {
  if (!spec.linux?.seccomp) return undefined;
  const { KoffiSeccomp } = await import('../seccomp/koffi-libseccomp.js');
  const plan = planSeccomp(spec.linux.seccomp);
  return { bpf: compileSeccomp(new KoffiSeccomp(), plan, (m) => ctx.log.debug(m)), flags: seccompFlags(plan) };
}

/** A container with a user namespace: the Node init joins it (the CLI cannot). */
async function execWithNodeInit(ctx: Context, c: ReturnType<typeof inspect>, spec: Spec, consoleFd: number | undefined): Promise<{ pid: number; child: ChildProcess }> {
  const init = await spawnInit(ctx.sys, spec.linux?.namespaces, (level, msg) => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg)), undefined, consoleFd === undefined ? [] : [consoleFd]);
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
      debug: false,
      explain: ctx.explain,
    });
    await init.channel.expect('nsReady');
    if (c.record.cgroupPaths) cgroupManagerFromPaths(c.record.cgroupPaths).join(init.pid);
    init.channel.send({ type: 'continue', state: { ociVersion: c.record.ociVersion, id: c.record.id, status: c.status, pid: c.record.pid, bundle: c.record.bundle } });
    await init.channel.expect('ready');
  } catch (err) {
    init.child.kill('SIGKILL');
    throw err;
  } finally {
    init.channel.close();
  }
  return init;
}
