import { userInfo } from 'node:os';
import { chmodSync, unlinkSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Namespace, Spec } from '../../spec/types.js';
import { TsrunError, errorMessage } from '../../errors.js';
import { checkId } from '../ids.js';
import { checkSupported, findNamespace } from '../namespaces.js';
import { checkKernelNames } from '../kernel-names.js';
import { planSeccomp } from '../seccomp/plan.js';
import { readNofile, readStat } from '../proc.js';
import { fifoPath, makeContainerDir, removeContainerDir, saveRecord, writeFileAtomic, type ContainerRecord } from '../state-store.js';
import { spawnInit, type SpawnedInit } from '../process/spawn-init.js';
import { runHooks, runHooksWarnOnly } from '../../hooks/run.js';
import type { OciState } from '../../hooks/outcome.js';
import { O } from '../sys/constants.js';
import { connectConsoleSocket } from '../terminal.js';
import { cgroupManager } from '../cgroups/index.js';
import { withDefaultDeviceRules } from '../device-rules.js';
import { because, emit } from '../../explain/events.js';
import type { Context } from './context.js';
import { ociState } from './inspect.js';

// create: bundle → validated spec → state dir → spawned init in new
// namespaces → hooks → rootfs → "created", waiting on exec.fifo.
// Every resource registers its undo as soon as it exists; a failure at any
// step runs them in reverse so nothing is left behind.

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  /** unix socket that receives the pty master (SCM_RIGHTS) when process.terminal is true */
  consoleSocket?: string;
  noPivot?: boolean;
  /** lets callers (run --net) adjust the validated spec before it is used */
  adjustSpec?: (spec: Spec) => Spec | Promise<Spec>;
  /** run in this process right after the config's hooks of the same phase (run --net: the CNI chain) */
  inProcessHooks?: { createRuntime?: (state: OciState) => Promise<void>; poststop?: (state: OciState) => Promise<void> };
}

export interface Created {
  record: ContainerRecord;
  child: ChildProcess;
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

interface Peeked {
  pidNs: Namespace[];
  terminal: boolean;
}

/** The pid namespace and terminal flag of config.json, read without validating anything. */
function peek(bundleDir: string): Peeked | undefined {
  try {
    const raw = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8')) as { linux?: { namespaces?: unknown }; process?: { terminal?: unknown } };
    const list = Array.isArray(raw.linux?.namespaces) ? (raw.linux.namespaces as unknown[]) : [];
    const entries = list.filter((n): n is Namespace => typeof n === 'object' && n !== null);
    // With a user namespace the init needs the validated id maps: no early start.
    if (entries.some((n) => n.type === 'user')) return undefined;
    return { pidNs: entries.filter((n) => n.type === 'pid'), terminal: raw.process?.terminal === true };
  } catch {
    return undefined; // validation will say what is wrong
  }
}

const pidNsKey = (list: Namespace[] | undefined): string => JSON.stringify(findNamespace(list, 'pid') ?? null);

/**
 * exec.fifo (and the console socket) are handed to the init as open fds 4 and
 * 5, like runc does: in a user namespace the init may not be allowed to reach
 * the state dir or the console socket's directory by path.
 */
function initFds(ctx: Context, id: string, consoleSocket: string | undefined): number[] {
  const fds = [because('exec.fifo: passed to the init as fd 4', () => ctx.sys.open(fifoPath(ctx.root, id), O.PATH | O.CLOEXEC))];
  if (consoleSocket) {
    try {
      fds.push(because('--console-socket: connected here, passed to the init as fd 5', () => connectConsoleSocket(ctx.sys, consoleSocket)));
    } catch (err) {
      ctx.sys.close(fds[0]!);
      throw err;
    }
  }
  return fds;
}

/** The container's cgroup, with its undo registered; none when rootless. */
function setUpCgroup(ctx: Context, id: string, spec: Spec, pid: number, undo: Undo[]): Record<string, string> | undefined {
  if (process.getuid?.() !== 0) {
    // Rootless: cgroupfs is not ours to write (no delegation), so resources cannot be applied.
    const asked = Object.keys(spec.linux?.resources ?? {}).some((k) => k !== 'devices');
    if (asked) ctx.log.warn('linux.resources not applied: rootless tsrun has no cgroup of its own');
    return undefined;
  }
  const cgroup = cgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath });
  cgroup.create(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices));
  undo.push(() => cgroup.destroy());
  for (const s of cgroup.skipped) ctx.log.warn(`${s.jsonPath} not applied: ${s.reason}`);
  cgroup.join(pid);
  const why = spec.linux?.cgroupsPath ? 'linux.cgroupsPath, linux.resources' : 'no linux.cgroupsPath: /tsrun/<id>; linux.resources';
  emit('step', `cgroup ${Object.values(cgroup.paths)[0] ?? ''} (+${Object.keys(cgroup.paths).length - 1} hierarchies): created, resources written, pid ${pid} joined`, 'ok', why);
  return cgroup.paths;
}

export async function createContainer(ctx: Context, opts: CreateOptions): Promise<Created> {
  const id = checkId(opts.id);
  const undo: Undo[] = [];
  let init: SpawnedInit | undefined;
  let fds: number[] = [];
  let poststop: (() => Promise<void>) | undefined;
  const onLog = (level: 'warning' | 'debug', msg: string): void => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg));
  try {
    // Start the init's Node boot first; loading zod and validating overlap with it.
    const peeked = peek(opts.bundle);
    makeContainerDir(ctx.root, id);
    undo.push(() => removeContainerDir(ctx.root, id));
    because('exec.fifo: the init blocks on it until `tsrun start`', () => ctx.sys.mkfifo(fifoPath(ctx.root, id), 0o622));
    // Not subject to our umask: an init in a user namespace is "other" to it.
    chmodSync(fifoPath(ctx.root, id), 0o622);
    if (peeked) {
      fds = initFds(ctx, id, peeked.terminal ? opts.consoleSocket : undefined);
      const early = await spawnInit(ctx.sys, peeked.pidNs, onLog, undefined, fds);
      init = early;
      undo.push(() => killInit(early));
    }
    const { loadBundle } = await import('../../spec/load.js');
    const bundle = loadBundle(opts.bundle);
    const spec = opts.adjustSpec ? await opts.adjustSpec(bundle.spec) : bundle.spec;
    // The runtime-spec's rule: a create that fails after this point still runs the poststop hooks.
    poststop = async () => {
      const stopped: OciState = { ociVersion: spec.ociVersion, id, status: 'stopped', bundle: bundle.bundle, annotations: (spec.annotations ?? {}) as Record<string, string> };
      await runHooksWarnOnly('poststop', spec.hooks?.poststop, stopped, (m) => ctx.log.warn(m));
      await opts.inProcessHooks?.poststop?.(stopped).catch((err: unknown) => ctx.log.warn(`poststop: ${errorMessage(err)}`));
    };
    checkSupported(spec.linux?.namespaces, { uid: spec.linux?.uidMappings, gid: spec.linux?.gidMappings });
    checkKernelNames(spec.process, bundle.configPath);
    // Plan the filter now so a bad profile fails create, not the later exec.
    if (spec.linux?.seccomp) planSeccomp(spec.linux.seccomp);
    checkTerminal(spec, opts.consoleSocket);
    const self = readStat(process.pid);
    const record: ContainerRecord = {
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
    saveRecord(ctx.root, record);

    if (!init || pidNsKey(peeked?.pidNs) !== pidNsKey(spec.linux?.namespaces) || !!spec.process?.terminal !== peeked?.terminal) {
      if (init) await killInit(init);
      for (const fd of fds.splice(0)) ctx.sys.close(fd);
      fds = initFds(ctx, id, spec.process?.terminal ? opts.consoleSocket : undefined);
      const spawned = await spawnInit(ctx.sys, spec.linux?.namespaces, onLog, { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] }, fds);
      init = spawned;
      undo.push(() => killInit(spawned));
    }
    // The init has its own copies now.
    for (const fd of fds.splice(0)) ctx.sys.close(fd);
    record.pid = init.pid;
    record.initStartTime = readStat(init.pid)?.startTime ?? '';
    saveRecord(ctx.root, record);

    init.channel.send({
      type: 'config',
      mode: 'create',
      id,
      spec,
      rootfs: bundle.rootfs,
      bundle: bundle.bundle,
      fifoFd: 4,
      consoleFd: spec.process?.terminal ? 5 : undefined,
      noPivot: opts.noPivot ?? false,
      callerNofile: readNofile(process.ppid),
      debug: false,
      explain: ctx.explain,
    });
    await init.channel.expect('nsReady');
    record.cgroupPaths = setUpCgroup(ctx, id, spec, init.pid, undo);
    saveRecord(ctx.root, record);
    // runtime.md: "created" is after lifecycle step 2; these hooks are steps 3-5.
    const state = ociState({ record, status: 'created' });
    await runHooks('prestart', spec.hooks?.prestart, state);
    await runHooks('createRuntime', spec.hooks?.createRuntime, state);
    await opts.inProcessHooks?.createRuntime?.(state);
    init.channel.send({ type: 'continue', state });
    await init.channel.expect('ready');

    // Saved before the init is released, so a create killed from here on leaves a deletable container.
    record.stage = 'created';
    saveRecord(ctx.root, record);
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(init.pid), 0o644);
    init.channel.send({ type: 'release' });
    // The init holds PDEATHSIG until it has read "release": exiting before its answer would kill it.
    await init.channel.expect('released');
    init.channel.close();
    return { record, child: init.child };
  } catch (err) {
    for (const fd of fds) ctx.sys.close(fd);
    init?.channel.close();
    await rollback(ctx, undo);
    await poststop?.();
    if (opts.pidFile) {
      try {
        unlinkSync(opts.pidFile);
      } catch {
        // never written
      }
    }
    throw err;
  }
}

async function killInit(init: SpawnedInit): Promise<void> {
  if (init.child.exitCode !== null || init.child.signalCode !== null) return;
  const exited = new Promise((r) => init.child.once('exit', r));
  init.child.kill('SIGKILL');
  await exited;
}
