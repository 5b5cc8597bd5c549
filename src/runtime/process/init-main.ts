import { closeSync, writeSync } from 'node:fs';
import { KoffiSyscalls } from '../../sys/koffi.js';
import { traceSyscalls } from '../../sys/tracing.js';
import { because, fdSink, startExplaining } from '../../explain/events.js';
import { KoffiSeccomp } from '../seccomp/koffi-libseccomp.js';
import { InitChannel } from './init-channel.js';
import { applyProcess, checkFifoReachable, execReady, prepare, prepareExec, waitForStart, type InitLog, type ReadyToExec, type SeccompAgent } from './init.js';
import { PR } from '../../sys/constants.js';
import { TsrunError } from '../../errors.js';
import { runHooksSync } from '../../oci-hooks/run-sync.js';
import type { ContainerProcessState } from '../seccomp/agent.js';
import type { OciState } from '../../oci-hooks/outcome.js';

// Entry point of the container's init process (PID 1 of its pid namespace).
// Spawned by `tsrun create` with the sync socket on fd 3.
//
// The order is runc's (and the C stage's): everything that can fail without
// waiting (rlimits, credentials, capabilities, no_new_privs, seccomp without
// no_new_privs, the binary, the cwd) before "ready", so its failure fails
// `create`; after the "0" on exec.fifo only the startContainer hooks,
// seccomp with no_new_privs, and execve. Their errors go to `start` through
// exec.fifo, whose write end stays open (close-on-exec) until execve.

const ch = new InitChannel(3);
const cfg = ch.expect('config');
if (cfg.explain) startExplaining(fdSink(2, cfg.explain), 'init');
const sys = cfg.explain ? traceSyscalls(new KoffiSyscalls()) : new KoffiSyscalls();
// libseccomp is loaded from the host now; after pivot_root it would be looked up in the container.
const seccompLib = cfg.spec.linux?.seccomp ? new KoffiSeccomp() : undefined;
const lib = (): KoffiSeccomp => seccompLib!;

/** Until ready, warnings and debug lines go to the runtime's logger (--debug, --log), never to the container's stderr. */
const log: InitLog = {
  warn: (message) => ch.send({ type: 'warning', message }),
  debug: (message) => ch.send({ type: 'debug', message }),
};

const agentFor = (message: ContainerProcessState | undefined): SeccompAgent | undefined =>
  cfg.seccompAgentFd !== undefined && message ? { fd: cfg.seccompAgentFd, message } : undefined;

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

/**
 * After the runtime let go. An error after "0" goes to `start` through
 * exec.fifo, and only there (start prints it); before "0" nobody listens but
 * the container's stderr.
 */
function afterRelease(run: () => never): never {
  try {
    return run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    let told = false;
    if (startFd >= 0) {
      try {
        writeSync(startFd, message);
        told = true;
      } catch {
        // start gave up reading
      }
    }
    if (!told) process.stderr.write(`tsrun: ${message}\n`);
    const errno = err instanceof TsrunError ? err.errno : undefined;
    process.exit(errno === 'ENOENT' ? 127 : errno === 'EACCES' ? 126 : 1);
  }
}

if (cfg.mode === 'exec') {
  let ready: ReadyToExec;
  let agent: SeccompAgent | undefined;
  try {
    const prepared = prepareExec(sys, ch, cfg);
    agent = agentFor(prepared.seccompAgent);
    ready = applyProcess(sys, cfg, prepared.binary, log, lib, agent);
    // fd 3 is close-on-exec: the runtime sees it close once execve succeeded.
    ch.send({ type: 'ready' });
  } catch (err) {
    reportAndExit(err);
  }
  afterRelease(() => execReady(sys, cfg, ready, lib, agent));
} else {
  let ready: ReadyToExec;
  let agent: SeccompAgent | undefined;
  let fifoFd: number;
  let state: OciState;
  try {
    const prepared = prepare(sys, ch, cfg);
    ({ fifoFd, state } = prepared);
    agent = agentFor(prepared.seccompAgent);
    ready = applyProcess(sys, cfg, prepared.binary, log, lib, agent);
    checkFifoReachable(fifoFd);
    ch.send({ type: 'ready' });
    ch.expect('release');
    because('the state is saved: the container outlives `tsrun create`', () => sys.prctl(PR.SET_PDEATHSIG, 0));
    // Only now may the runtime exit: before this, its death would still kill us.
    ch.send({ type: 'released' });
    closeSync(3);
  } catch (err) {
    reportAndExit(err);
  }
  afterRelease(() => {
    startFd = waitForStart(sys, fifoFd);
    // --preserve-fds puts the caller's fds at 3…: keep the error channel out of their way.
    const keep = cfg.preserveFds?.count ?? 0;
    if (startFd < 3 + keep) {
      const moved = sys.dupAbove(startFd, 3 + keep);
      closeSync(startFd);
      startFd = moved;
    }
    // After pivot_root and with the container's credentials (as runc): the path resolves inside the container.
    runHooksSync('startContainer', cfg.spec.hooks?.startContainer, state, { inContainer: true });
    return execReady(sys, cfg, ready, lib, agent);
  });
}
