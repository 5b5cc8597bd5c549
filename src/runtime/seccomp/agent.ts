import { SyscallError, type Syscalls } from '../../sys/syscalls.js';
import type { OciState } from '../../spec/state.js';
import { TsrunError } from '../../errors.js';
import { SPEC_VERSION } from '../../spec/defaults.js';
import { connectUnix } from '../terminal.js';
import { emit } from '../../explain/events.js';

// The seccomp agent protocol (runtime-spec runtime.md, "Seccomp listener"):
// the runtime connects to linux.seccomp.listenerPath and sends, in one
// message, the container process state as JSON with the listener fd attached
// (SCM_RIGHTS). The agent then answers the container's SCMP_ACT_NOTIFY
// syscalls on that fd.

/** The spec's ContainerProcessState: "fds" names the attached fds in order. */
export interface ContainerProcessState {
  ociVersion: string;
  fds: string[];
  pid: number;
  metadata?: string;
  state: OciState;
}

export function containerProcessState(state: OciState, pid: number, metadata?: string): ContainerProcessState {
  return { ociVersion: SPEC_VERSION, fds: ['seccompFd'], pid, ...(metadata ? { metadata } : {}), state };
}

/** A connection to the agent at listenerPath (for an init that sends on it itself: user namespaces). */
export function connectAgent(sys: Syscalls, listenerPath: string): number {
  try {
    return connectUnix(sys, listenerPath);
  } catch (err) {
    const why = err instanceof SyscallError ? `${err.errno}` : err instanceof Error ? err.message : String(err);
    throw new TsrunError('BAD_INPUT', `linux.seccomp.listenerPath: cannot connect to the seccomp agent at ${listenerPath}: ${why}`, { jsonPath: 'linux.seccomp.listenerPath', errno: err instanceof SyscallError ? err.errno : undefined });
  }
}

/** Connects to the agent, sends the state with the listener fd, and hangs up. The caller keeps (and closes) `listenerFd`. */
export function sendToAgent(sys: Syscalls, listenerPath: string, message: ContainerProcessState, listenerFd: number): void {
  const sock = connectAgent(sys, listenerPath);
  try {
    const data = Buffer.from(JSON.stringify(message));
    let sent = sys.sendmsgFds(sock, data, [listenerFd]);
    while (sent < data.length) sent += sys.sendto(sock, data.subarray(sent), 0, null);
    emit('step', `seccomp listener fd → agent at ${listenerPath}`, 'ok', 'linux.seccomp.listenerPath: SCMP_ACT_NOTIFY syscalls wait for its answers');
  } finally {
    sys.close(sock);
  }
}
