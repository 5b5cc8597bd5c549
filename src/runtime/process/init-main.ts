import { closeSync, writeSync } from 'node:fs';
import { KoffiSyscalls } from '../../sys/koffi.js';
import { traceSyscalls } from '../../sys/tracing.js';
import { because, fdSink, startExplaining } from '../../explain/events.js';
import { KoffiSeccomp } from '../seccomp/koffi-libseccomp.js';
import { InitChannel } from './init-channel.js';
import { execProcess, prepare, prepareExec, waitForStart } from './init.js';
import { PR } from '../../sys/constants.js';
import { TsrunError } from '../../errors.js';
import { runHooksSync } from '../../oci-hooks/run-sync.js';
import type { ContainerProcessState } from '../seccomp/agent.js';

// Entry point of the container's init process (PID 1 of its pid namespace).
// Spawned by `tsrun create` with the sync socket on fd 3.

const ch = new InitChannel(3);
const cfg = ch.expect('config');
if (cfg.explain) startExplaining(fdSink(2, cfg.explain), 'init');
const sys = cfg.explain ? traceSyscalls(new KoffiSyscalls()) : new KoffiSyscalls();
// libseccomp is loaded from the host now; after pivot_root it would be looked up in the container.
const seccompLib = cfg.spec.linux?.seccomp ? new KoffiSeccomp() : undefined;

function reportAndExit(err: unknown): never {
  const e = err instanceof TsrunError ? err : undefined;
  try {
    ch.send({ type: 'error', code: e?.code ?? 'INIT', message: err instanceof Error ? err.message : String(err), errno: e?.errno });
  } catch {
    // the runtime is gone; nobody to tell
  }
  process.exit(1);
}

/** exec.fifo's write end once "0" is written: `start` reads an error from it. */
let startFd = -1;

/** After the runtime let go: errors go to `start` through exec.fifo (once it is open) and to the container's stderr. */
function execOrDie(binary: string, agentMessage: ContainerProcessState | undefined, before?: () => void): never {
  try {
    before?.();
    const say = (m: string): boolean => process.stderr.write(`tsrun: warning: ${m}\n`);
    const agent = cfg.seccompAgentFd !== undefined && agentMessage ? { fd: cfg.seccompAgentFd, message: agentMessage } : undefined;
    return execProcess(sys, cfg, binary, say, () => seccompLib!, cfg.debug ? say : undefined, agent);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (startFd >= 0) {
      try {
        writeSync(startFd, message);
      } catch {
        // start gave up reading
      }
    }
    process.stderr.write(`tsrun: ${message}\n`);
    const errno = err instanceof TsrunError ? err.errno : undefined;
    process.exit(errno === 'ENOENT' ? 127 : errno === 'EACCES' ? 126 : 1);
  }
}

if (cfg.mode === 'exec') {
  let prepared: ReturnType<typeof prepareExec>;
  try {
    prepared = prepareExec(sys, ch, cfg);
    // fd 3 is close-on-exec: the runtime sees it close once execve succeeded.
    ch.send({ type: 'ready' });
  } catch (err) {
    reportAndExit(err);
  }
  execOrDie(prepared.binary, prepared.seccompAgent);
} else {
  let prepared: ReturnType<typeof prepare>;
  try {
    prepared = prepare(sys, ch, cfg);
    ch.send({ type: 'ready' });
    ch.expect('release');
    because('the state is saved: the container outlives `tsrun create`', () => sys.prctl(PR.SET_PDEATHSIG, 0));
    // Only now may the runtime exit: before this, its death would still kill us.
    ch.send({ type: 'released' });
    closeSync(3);
  } catch (err) {
    reportAndExit(err);
  }
  const { binary, fifoFd, state, seccompAgent } = prepared;
  execOrDie(binary, seccompAgent, () => {
    startFd = waitForStart(sys, fifoFd);
    // --preserve-fds puts the caller's fds at 3…: keep the error channel out of their way.
    const keep = cfg.preserveFds?.count ?? 0;
    if (startFd < 3 + keep) {
      const moved = sys.dupAbove(startFd, 3 + keep);
      closeSync(startFd);
      startFd = moved;
    }
    // After pivot_root: the path resolves inside the container.
    runHooksSync('startContainer', cfg.spec.hooks?.startContainer, state);
  });
}
