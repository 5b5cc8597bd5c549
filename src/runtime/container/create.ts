import { userInfo } from 'node:os';
import { unlinkSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Namespace, Spec } from '../../spec/types.js';
import { TsrunError, errorMessage } from '../../errors.js';
import { checkId } from '../ids.js';
import { checkSupported, findNamespace } from '../namespaces.js';
import { planSeccomp } from '../seccomp/plan.js';
import { readNofile, readStat } from '../proc.js';
import { fifoPath, makeContainerDir, removeContainerDir, saveRecord, writeFileAtomic, type ContainerRecord } from '../state-store.js';
import { spawnInit, type SpawnedInit } from '../process/spawn-init.js';
import { runHooks } from '../../hooks/run.js';
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
  adjustSpec?: (spec: Spec) => Spec;
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

/** The pid namespace entry of config.json, read without validating anything. */
function peekPidNamespace(bundleDir: string): Namespace[] | undefined {
  try {
    const raw = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8')) as { linux?: { namespaces?: unknown } };
    const list = raw.linux?.namespaces;
    if (!Array.isArray(list)) return [];
    return list.filter((n): n is Namespace => typeof n === 'object' && n !== null && (n as Namespace).type === 'pid');
  } catch {
    return undefined; // validation will say what is wrong
  }
}

const pidNsKey = (list: Namespace[] | undefined): string => JSON.stringify(findNamespace(list, 'pid') ?? null);

export async function createContainer(ctx: Context, opts: CreateOptions): Promise<Created> {
  const id = checkId(opts.id);
  const undo: Undo[] = [];
  let init: SpawnedInit | undefined;
  const onLog = (level: 'warning' | 'debug', msg: string): void => (level === 'warning' ? ctx.log.warn(msg) : ctx.log.debug(msg));
  try {
    // Start the init's Node boot first; loading zod and validating overlap with it.
    const peeked = peekPidNamespace(opts.bundle);
    if (peeked) {
      makeContainerDir(ctx.root, id);
      undo.push(() => removeContainerDir(ctx.root, id));
      const early = spawnInit(ctx.sys, peeked, onLog);
      init = early;
      undo.push(() => killInit(early));
    }
    const { loadBundle } = await import('../../spec/load.js');
    const bundle = loadBundle(opts.bundle);
    const spec = opts.adjustSpec ? opts.adjustSpec(bundle.spec) : bundle.spec;
    checkSupported(spec.linux?.namespaces);
    // Plan the filter now so a bad profile fails create, not the later exec.
    if (spec.linux?.seccomp) planSeccomp(spec.linux.seccomp);
    checkTerminal(spec, opts.consoleSocket);
    const consoleSocket = spec.process?.terminal ? opts.consoleSocket : undefined;
    if (!peeked) {
      makeContainerDir(ctx.root, id);
      undo.push(() => removeContainerDir(ctx.root, id));
    }
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
    because('exec.fifo: the init blocks on it until `tsrun start`', () => ctx.sys.mkfifo(fifoPath(ctx.root, id), 0o622));

    if (!init || pidNsKey(peeked) !== pidNsKey(spec.linux?.namespaces)) {
      if (init) await killInit(init);
      const spawned = spawnInit(ctx.sys, spec.linux?.namespaces, onLog);
      init = spawned;
      undo.push(() => killInit(spawned));
    }
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
      fifoPath: fifoPath(ctx.root, id),
      noPivot: opts.noPivot ?? false,
      consoleSocket,
      callerNofile: readNofile(process.ppid),
      debug: false,
      explain: ctx.explain,
    });
    await init.channel.expect('nsReady');
    const cgroup = cgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath });
    cgroup.create(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices));
    undo.push(() => cgroup.destroy());
    for (const s of cgroup.skipped) ctx.log.warn(`${s.jsonPath} not applied: ${s.reason}`);
    cgroup.join(init.pid);
    emit('step', `cgroup ${Object.values(cgroup.paths)[0] ?? ''} (+${Object.keys(cgroup.paths).length - 1} hierarchies): created, resources written, pid ${init.pid} joined`, 'ok', spec.linux?.cgroupsPath ? 'linux.cgroupsPath, linux.resources' : 'no linux.cgroupsPath: /tsrun/<id>; linux.resources');
    record.cgroupPaths = cgroup.paths;
    saveRecord(ctx.root, record);
    const state = ociState({ record, status: 'creating' });
    await runHooks('prestart', spec.hooks?.prestart, state);
    await runHooks('createRuntime', spec.hooks?.createRuntime, state);
    init.channel.send({ type: 'continue', state });
    await init.channel.expect('ready');

    // Saved before the init is released, so a create killed from here on leaves a deletable container.
    record.stage = 'created';
    saveRecord(ctx.root, record);
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(init.pid), 0o644);
    init.channel.send({ type: 'release' });
    init.channel.close();
    return { record, child: init.child };
  } catch (err) {
    init?.channel.close();
    await rollback(ctx, undo);
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
