import { userInfo } from 'node:os';
import type { Spec } from '../../spec/types.js';
import { TsrunError, errorMessage, wrap } from '../../errors.js';
import { checkId } from '../../common/ids.js';
import { checkSupported, findNamespace } from '../namespaces.js';
import { checkKernelNames } from '../kernel-names.js';
import { planSeccomp } from '../seccomp/plan.js';
import { readStat } from '../../sys/proc.js';
import { fifoPath, lockContainer, makeContainerDir, removeContainerDir, saveRecord, writeFileAtomic, type ContainerRecord } from '../state-store.js';
import { runHooks, runHooksWarnOnly, type OciState } from '../../oci-hooks/run.js';
import { AT_FDCWD, O } from '../../sys/constants.js';
import { connectConsoleSocket } from '../terminal.js';
import { cgroupManager } from '../cgroups/index.js';
import { warmCgroupMigration } from '../cgroups/warm.js';
import { withDefaultDeviceRules } from '../device-rules.js';
import { because, emit } from '../../explain/events.js';
import type { Launcher, LaunchInput } from '../process/launcher.js';
import type { ChildLike } from '../process/child.js';
import { checkConfig } from './check-config.js';
import type { Context } from './context.js';
import { ociState } from './inspect.js';

// create: bundle → validated spec → state dir → the container's process in
// new namespaces → cgroup → createRuntime hooks → rootfs → credentials →
// "created", waiting on exec.fifo. Every resource registers its undo as soon
// as it exists; a failure at any step runs them in reverse.

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  /** unix socket that receives the pty master (SCM_RIGHTS) when process.terminal is true */
  consoleSocket?: string;
  noPivot?: boolean;
  /** --preserve-fds: the caller's fds 3 … 3+n-1 go on to the container's process at the same numbers */
  preserveFds?: number;
  /** lets callers (run --net) adjust the validated spec before it is used */
  adjustSpec?: (spec: Spec) => Spec | Promise<Spec>;
  /** run right after the config's own hooks of the same phase, in the runtime's namespaces (run --net's CNI chain) */
  inProcessHooks?: { createRuntime?: (state: OciState) => Promise<void>; poststop?: (state: OciState) => Promise<void> };
}

export interface Created {
  record: ContainerRecord;
  child: ChildLike;
}

type Undo = () => unknown;

async function rollback(ctx: Context, undo: Undo[]): Promise<void> {
  for (const u of undo.reverse()) {
    try {
      await u();
    } catch (err) {
      ctx.log.warn(`cleanup after failed create: ${errorMessage(err)}`);
    }
  }
}

function checkTerminal(spec: Spec, consoleSocket: string | undefined): void {
  if (spec.process?.terminal && !consoleSocket) {
    throw new TsrunError('BAD_INPUT', 'process.terminal is true: a --console-socket is needed to receive the terminal', {
      jsonPath: 'process.terminal',
      hint: 'pass --console-socket, use `tsrun run` in the foreground, or set process.terminal to false',
    });
  }
}

/** The container's cgroup, with its undo registered; none when rootless. */
function setUpCgroup(ctx: Context, id: string, spec: Spec, pid: number, undo: Undo[]): Record<string, string> | undefined {
  if (process.getuid?.() !== 0) {
    // Rootless: cgroupfs is not ours to write (no delegation), so resources cannot be applied.
    const asked = Object.keys(spec.linux?.resources ?? {}).some((k) => k !== 'devices');
    if (asked) ctx.log.warn('linux.resources not applied: rootless tsrun has no cgroup of its own');
    return undefined;
  }
  const cgroup = cgroupManager(ctx.sys, { id, cgroupsPath: spec.linux?.cgroupsPath });
  cgroup.create(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices));
  undo.push(() => cgroup.destroy());
  for (const s of cgroup.skipped) ctx.log.warn(`${s.jsonPath} not applied: ${s.reason}`);
  cgroup.join(pid);
  const why = spec.linux?.cgroupsPath ? 'linux.cgroupsPath, linux.resources' : 'no linux.cgroupsPath: /tsrun/<id>; linux.resources';
  emit('step', `cgroup ${Object.values(cgroup.paths)[0] ?? ''} (+${Object.keys(cgroup.paths).length - 1} hierarchies): created, resources written, pid ${pid} joined`, 'ok', why);
  return cgroup.paths;
}

/** The C stage, or for a user namespace the Node init (which the multi-threaded CLI cannot enter). */
async function launch(ctx: Context, input: LaunchInput): Promise<Launcher> {
  if (findNamespace(input.spec.linux?.namespaces, 'user')) {
    const { launchNodeInit } = await import('../process/launch-node-init.js');
    return launchNodeInit(ctx.sys, input);
  }
  const { launchStage } = await import('../process/launch-stage.js');
  return launchStage(ctx.sys, input);
}

export async function createContainer(ctx: Context, opts: CreateOptions): Promise<Created> {
  const id = checkId(opts.id);
  const undo: Undo[] = [];
  const fds: number[] = [];
  let poststop: (() => Promise<void>) | undefined;
  const onLog = (level: 'warning' | 'debug', msg: string): void => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg));
  // As root the process joins a cgroup soon: start the kernel's wait for that while the bundle loads,
  // and once more when the bundle is valid, so the join finds the lock warm for short and long waits alike.
  const warm = process.getuid?.() === 0;
  if (warm) void warmCgroupMigration(ctx.sys);
  try {
    const { loadBundle } = await import('../../spec/load.js');
    const bundle = loadBundle(opts.bundle);
    const spec = opts.adjustSpec ? await opts.adjustSpec(bundle.spec) : bundle.spec;
    checkConfig(spec, bundle.configPath);
    checkKernelNames(spec.process, bundle.configPath);
    checkSupported(spec.linux?.namespaces, { uid: spec.linux?.uidMappings, gid: spec.linux?.gidMappings });
    // Plan the filter now so a bad profile fails create before anything exists.
    if (spec.linux?.seccomp) {
      try {
        planSeccomp(spec.linux.seccomp);
      } catch (err) {
        throw wrap(err, bundle.configPath);
      }
    }
    checkTerminal(spec, opts.consoleSocket);
    if (warm) void warmCgroupMigration(ctx.sys);
    makeContainerDir(ctx.sys, ctx.root, id);
    undo.push(() => removeContainerDir(ctx.sys, ctx.root, id));
    // Locked until the first state is saved: a delete arriving meanwhile waits, then sees "creating"
    // instead of a directory with no state (which it takes for a killed create's and removes).
    const lock = lockContainer(ctx.sys, ctx.root, id);
    let record: ContainerRecord;
    try {
      // The runtime-spec's rule: a create that fails after this point still runs the poststop hooks.
      const stopped: OciState = { ociVersion: spec.ociVersion, id, status: 'stopped', bundle: bundle.bundle, annotations: (spec.annotations ?? {}) as Record<string, string> };
      poststop = async () => {
        await runHooksWarnOnly('poststop', spec.hooks?.poststop, stopped, (m) => ctx.log.warn(m));
        await opts.inProcessHooks?.poststop?.(stopped).catch((err: unknown) => ctx.log.warn(errorMessage(err)));
      };
      because('exec.fifo: the container\'s process blocks on it until `tsrun start`', () => ctx.sys.mkfifo(fifoPath(ctx.root, id), 0o622));
      because('exec.fifo: 0622 whatever the umask, as a process in a user namespace is "other" to it', () => ctx.sys.fchmodat(AT_FDCWD, fifoPath(ctx.root, id), 0o622));
      const self = readStat(process.pid);
      record = {
        ociVersion: spec.ociVersion,
        id,
        bundle: bundle.bundle,
        rootfs: bundle.rootfs,
        pid: 0,
        initStartTime: '',
        stage: 'creating',
        creatorPid: process.pid,
        creatorStartTime: self?.startTime ?? '',
        created: new Date().toISOString(),
        owner: userInfo().username,
        annotations: (spec.annotations ?? {}) as Record<string, string>,
        spec,
      };
      saveRecord(ctx.sys, ctx.root, record);
    } finally {
      ctx.sys.close(lock);
    }

    // exec.fifo and the console socket are handed over as open fds, like runc does:
    // a process in a user namespace may not reach the state dir or the socket's directory.
    fds.push(because('exec.fifo: passed to the container\'s process as fd 4', () => ctx.sys.open(fifoPath(ctx.root, id), O.PATH | O.CLOEXEC)));
    if (spec.process?.terminal) fds.push(because('--console-socket: connected here, while its path is reachable', () => connectConsoleSocket(ctx.sys, opts.consoleSocket!)));
    const l = await launch(ctx, { id, spec, rootfs: bundle.rootfs, bundle: bundle.bundle, noPivot: opts.noPivot ?? false, fifoFd: fds[0]!, consoleFd: fds[1], preserved: Array.from({ length: opts.preserveFds ?? 0 }, (_, i) => 3 + i), onLog, explain: ctx.explain });
    undo.push(() => l.abort());
    record.pid = l.pid;
    record.initStartTime = readStat(l.pid)?.startTime ?? '';
    saveRecord(ctx.sys, ctx.root, record);

    record.cgroupPaths = setUpCgroup(ctx, id, spec, l.pid, undo);
    saveRecord(ctx.sys, ctx.root, record);
    await l.cgroupJoined();
    // runtime.md: "created" is after lifecycle step 2; these hooks are steps 3-5.
    const state = ociState({ record, status: 'created' });
    await runHooks('prestart', spec.hooks?.prestart, state);
    await runHooks('createRuntime', spec.hooks?.createRuntime, state);
    await opts.inProcessHooks?.createRuntime?.(state);
    await l.finish(state);
    for (const fd of fds.splice(0)) ctx.sys.close(fd);

    // Saved before the process is released, so a create killed from here on leaves a deletable container.
    record.stage = 'created';
    saveRecord(ctx.sys, ctx.root, record);
    if (opts.pidFile) because('--pid-file', () => writeFileAtomic(ctx.sys, opts.pidFile!, String(l.pid), 0o644));
    await l.release();
    return { record, child: l.child };
  } catch (err) {
    for (const fd of fds) ctx.sys.close(fd);
    await rollback(ctx, undo);
    await poststop?.();
    if (opts.pidFile) {
      try {
        because('--pid-file: removed, create failed', () => ctx.sys.unlinkat(AT_FDCWD, opts.pidFile!, 0));
      } catch {
        // never written
      }
    }
    throw err;
  }
}
