import type { ChildLike } from './child.js';
import type { Spec } from '../../spec/types.js';
import type { OciState } from '../../oci-hooks/outcome.js';

// How `create` brings up a container's process, in the runtime-spec's order.
// Two implementations: the C stage set up from the CLI's main thread
// (launch-stage.ts), and the Node init kept for user namespaces, which the
// multi-threaded CLI cannot enter (launch-node-init.ts).
//
//   create                          launcher
//   start()  ──────────────────────▶ the process exists, in its namespaces (not cgroup)
//   cgroup set-up, join pid
//   cgroupJoined() ────────────────▶ cgroup namespace
//   prestart, createRuntime hooks (runtime namespaces)
//   finish(state) ─────────────────▶ mounts, createContainer hooks, pivot_root, …,
//                                    credentials; the process waits for exec.fifo
//   state "created", pid file
//   release() ─────────────────────▶ the process no longer depends on this CLI

export interface Launcher {
  readonly pid: number;
  readonly child: ChildLike;
  cgroupJoined(): Promise<void>;
  finish(state: OciState): Promise<void>;
  release(): Promise<void>;
  /** Kills the process (a failed create) and waits for it. */
  abort(): Promise<void>;
}

export interface LaunchInput {
  id: string;
  spec: Spec;
  rootfs: string;
  bundle: string;
  noPivot: boolean;
  /** exec.fifo, opened O_PATH by the runtime: inherited as fd 4 */
  fifoFd: number;
  /** the connected console socket, when process.terminal */
  consoleFd?: number;
  /** --preserve-fds: the caller's fds 3…, passed on to the process at the same numbers */
  preserved?: number[];
  onLog: (level: 'warning' | 'debug', msg: string) => void;
  explain?: 'text' | 'json';
}

export async function killChild(child: ChildLike): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
