import type { Namespace, Process } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { spawnInit } from '../process/spawn-init.js';
import { cgroupManagerFromPaths, subCgroupPaths } from '../cgroups/index.js';
import { checkExecStatus } from '../status.js';
import { writeFileAtomic } from '../state-store.js';
import type { Context } from './context.js';
import { inspect } from './inspect.js';
import { ConsoleServer, relayTerminal } from './console-relay.js';
import { exitStatus, forwardSignals } from './foreground.js';
import { connectConsoleSocket } from '../terminal.js';

// exec: a new process in a running container's namespaces and cgroup, with
// its own args, env, cwd, user and capabilities. Same init, mode "exec".

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

function joinIfAlive(paths: Record<string, string>, pid: number): void {
  try {
    cgroupManagerFromPaths(paths).join(pid);
  } catch (err) {
    if (!(err instanceof TsrunError && err.errno === 'ESRCH')) throw err;
  }
}

export async function execInContainer(ctx: Context, opts: ExecOptions): Promise<number> {
  const c = inspect(ctx.root, opts.id);
  checkExecStatus(c.status, opts.ignorePaused === true);
  const cgroupPaths = c.record.cgroupPaths && opts.cgroups?.length ? subCgroupPaths(c.record.cgroupPaths, opts.cgroups) : c.record.cgroupPaths;
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) {
    throw new TsrunError('BAD_INPUT', 'a detached exec with --tty needs --console-socket');
  }
  const spec = { ...c.record.spec, process: opts.process, linux: { ...c.record.spec.linux, namespaces: joinedNamespaces(c.record.pid, c.record.spec.linux?.namespaces) } };
  const server = opts.process.terminal && !opts.consoleSocket ? new ConsoleServer(ctx.sys) : undefined;
  const socketPath = opts.process.terminal ? (opts.consoleSocket ?? server?.path) : undefined;
  // Connected here and inherited as fd 4: inside a user namespace the socket's directory may be out of reach.
  const consoleFd = socketPath ? connectConsoleSocket(ctx.sys, socketPath) : undefined;
  // --preserve-fds: our fds 3…3+n-1 follow the console socket into the init, which moves them back to 3…
  const preserved = Array.from({ length: opts.preserveFds ?? 0 }, (_, i) => 3 + i);
  let init;
  try {
    init = await spawnInit(ctx.sys, spec.linux.namespaces, (level, msg) => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg)), undefined, [...(consoleFd === undefined ? [] : [consoleFd]), ...preserved]);
  } finally {
    if (consoleFd !== undefined) ctx.sys.close(consoleFd);
  }
  let relay: { stop(): void } | undefined;
  try {
    init.channel.send({
      type: 'config',
      mode: 'exec',
      id: opts.id,
      spec,
      rootfs: c.record.rootfs,
      bundle: c.record.bundle,
      noPivot: false,
      consoleFd: consoleFd === undefined ? undefined : 4,
      preserveFds: preserved.length ? { from: consoleFd === undefined ? 4 : 5, count: preserved.length } : undefined,
      debug: false,
      explain: ctx.explain,
    });
    await init.channel.expect('nsReady');
    // A frozen cgroup would freeze the init before it reports "ready" (runc hangs there): with
    // --ignore-paused it joins last, so exec returns and the process freezes moments after its
    // execve (one that exits at once may finish first: then there is nothing left to join).
    const joinLate = c.status === 'paused';
    if (cgroupPaths && !joinLate) cgroupManagerFromPaths(cgroupPaths).join(init.pid);
    init.channel.send({ type: 'continue', state: { ociVersion: c.record.ociVersion, id: opts.id, status: c.status, pid: c.record.pid, bundle: c.record.bundle } });
    await init.channel.expect('ready');
    if (cgroupPaths && joinLate) joinIfAlive(cgroupPaths, init.pid);
    if (server) relay = relayTerminal(ctx.sys, server.receiveMaster());
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(init.pid), 0o644);
  } catch (err) {
    init.child.kill('SIGKILL');
    throw err;
  } finally {
    server?.close();
    init.channel.close();
  }
  if (opts.detach) {
    init.child.unref();
    return 0;
  }
  const stopForwarding = forwardSignals(init.pid, ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
  try {
    return await exitStatus(init.child);
  } finally {
    relay?.stop();
    stopForwarding();
  }
}
