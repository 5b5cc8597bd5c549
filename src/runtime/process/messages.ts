import type { Spec } from '../../spec/types.js';
import type { OciState } from '../../oci-hooks/outcome.js';
import type { ContainerProcessState } from '../seccomp/agent.js';

// The sync protocol between the runtime (parent) and the container's init, as
// newline-delimited JSON on fd 3 (a socketpair):
//
//   parent                         init
//   ── config ──────────────────▶  enter/unshare namespaces (not cgroup)
//   ◀──────────────── nsReady ──   (parent: cgroups, createRuntime hooks)
//   ── continue ────────────────▶  cgroup ns, rootfs, pivot_root, devices, …,
//                                  rlimits, seccomp (no NNP), cwd, credentials,
//                                  capabilities, ambient, no_new_privs
//   ◀────────────────── ready ──   (parent: saves state, pid file)
//   ── release ─────────────────▶  drops PDEATHSIG
//   ◀─────────────── released ──   (parent may exit now); init blocks on exec.fifo,
//                                  then startContainer hooks, seccomp (NNP), execve
//
// Either side may send `error` instead; the init then exits. `warning` and
// `debug` lines may come any time before ready: they go to the runtime's logger.
// After the "0" on exec.fifo, errors are written on the fifo, for `start`.

export interface InitConfig {
  type: 'config';
  /** create: a new container; exec: a new process in a running one (namespaces given by path) */
  mode: 'create' | 'exec';
  id: string;
  spec: Spec;
  rootfs: string;
  bundle: string;
  /** exec.fifo, opened O_PATH by the runtime and inherited at this fd (create only) */
  fifoFd?: number;
  noPivot: boolean;
  /** the console socket, connected by the runtime and inherited at this fd, when process.terminal is true */
  consoleFd?: number;
  /** --preserve-fds: the caller's fds, inherited at from…from+count-1, go on to the process at 3…3+count-1 */
  preserveFds?: { from: number; count: number };
  /** bind mount sources cloned (open_tree) by the runtime on the host, by mount index → inherited fd (a mapped root may not reach them) */
  bindSourceFds?: Record<number, number>;
  /** linux.seccomp.listenerPath, connected by the runtime and inherited at this fd: the init sends the listener fd there */
  seccompAgentFd?: number;
  /** RLIMIT_NOFILE the caller had before Node raised it; restored when the config sets none */
  callerNofile?: { soft: string; hard: string };
  /** --explain: trace every kernel call to stderr in this format */
  explain?: 'text' | 'json';
}

/** `seccompAgent`: what the init sends the seccomp agent with the listener fd (SCMP_ACT_NOTIFY), on the socket at seccompAgentFd */
export type ParentMessage = InitConfig | { type: 'mapped' } | { type: 'continue'; state: OciState; seccompAgent?: ContainerProcessState } | { type: 'release' } | { type: 'error'; message: string };

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
  errno?: string;
}

export type InitMessage =
  | { type: 'userns' }
  | { type: 'initPid'; pid: number }
  | { type: 'nsReady' }
  | { type: 'released' }
  | { type: 'ready' }
  | { type: 'warning'; message: string }
  | { type: 'debug'; message: string }
  | ErrorMessage;
