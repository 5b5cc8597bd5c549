import type { Namespace } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { RLIMIT } from '../../sys/constants.js';
import { findNamespace } from '../namespaces.js';
import { heldBounding, lastCap } from '../capabilities.js';
import { readNofile } from '../../sys/proc.js';
import { planSeccomp, type SeccompPlan } from '../seccomp/plan.js';
import { containerProcessState, sendToAgent } from '../seccomp/agent.js';
import { compileSeccomp, seccompFlags } from '../seccomp/load.js';
import type { SeccompLib } from '../seccomp/libseccomp.js';
import { spawnStage, spawnStageProcess, type StageSpawner } from './stage.js';
import { PROC_NS, inNamespaces } from './main-thread.js';
import { setUpContainer, writeOomScoreAdj } from './container-setup.js';
import { stagePlan, type PlanInput } from './stage-plan.js';
import { killChild, type LaunchInput, type Launcher } from './launcher.js';
import { because, emit } from '../../explain/events.js';

// Containers without a user namespace: the CLI's main thread makes the
// namespaces, spawns the C stage into them, and does the set-up itself from
// inside (main-thread.ts); the stage applies credentials and waits.

export interface StageDeps {
  spawner?: StageSpawner;
  seccompLib?: () => SeccompLib;
}

/** The reason --explain gives for entering `n`: the config entry it comes from. */
const described = (list: Namespace[] | undefined, prefix: string) => (n: Namespace): string => {
  const i = (list ?? []).findIndex((x) => x.type === n.type);
  const own = list?.[i];
  return `linux.namespaces[${i}] {type: ${n.type}${own?.path ? `, path: ${own.path}` : ''}}: ${prefix}`;
};

/** The container's namespaces, each joined through its process's /proc entry. */
export function namespacesOf(pid: number, list: Namespace[] | undefined): Namespace[] {
  return (list ?? []).filter((n) => n.type !== 'user' && n.type !== 'time').map((n) => ({ type: n.type, path: `/proc/${pid}/ns/${PROC_NS[n.type]}` }));
}

/** RLIMIT_NOFILE as the caller had it (Node raised the soft limit), with our hard limit. */
export function callerNofile(sys: Syscalls): PlanInput['callerNofile'] {
  const caller = readNofile(process.ppid);
  if (!caller || caller.soft === 'unlimited') return undefined;
  return { soft: BigInt(caller.soft), hard: sys.getrlimit(RLIMIT.RLIMIT_NOFILE!).hard };
}

export async function launchStage(sys: Syscalls, i: LaunchInput, deps: StageDeps = {}): Promise<Launcher> {
  const { spec } = i;
  const proc = spec.process!;
  // Compiled here (libseccomp is the host's), loaded by the stage with seccomp(2).
  let seccomp: PlanInput['seccomp'];
  let listener: SeccompPlan['listener'];
  if (spec.linux?.seccomp) {
    const lib = deps.seccompLib?.() ?? new (await import('../seccomp/koffi-libseccomp.js')).KoffiSeccomp();
    seccomp = because('linux.seccomp: compiled to BPF by libseccomp here, loaded by the container\'s process', () => {
      const plan = planSeccomp(spec.linux!.seccomp!);
      listener = plan.listener;
      return { bpf: compileSeccomp(lib, plan, (m) => i.onLog('debug', m)), flags: seccompFlags(plan) };
    });
  }
  // The cgroup namespace is the stage's to make, once it is in its cgroup.
  const ns = (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'cgroup');
  // fd 4 is exec.fifo; preserved fds follow at 5…
  const preserved = i.preserved ?? [];
  const stage = spawnStage(sys, ns, described(spec.linux?.namespaces, 'the container\'s process is spawned into it'), [i.fifoFd, ...preserved], i.onLog, deps.spawner ?? spawnStageProcess);
  const { pid, child, channel } = stage;
  return {
    pid,
    child,
    async cgroupJoined() {
      const cg = findNamespace(spec.linux?.namespaces, 'cgroup');
      emit('step', `stage ← cgroupns${cg ? ` ${cg.path ?? 'new'}` : ' (none)'}`, 'ok', 'the cgroup namespace is made after the process joined its cgroup, so it is rooted there');
      channel.send('cgroupns', cg ? [['ns', cg.path ?? 'new']] : []);
      channel.expect('ok');
    },
    async finish(state) {
      if (listener) {
        const { path, metadata } = listener;
        channel.onListenerFd = (fd) => sendToAgent(sys, path, containerProcessState({ ...state, status: 'creating', pid }, pid, metadata), fd);
      }
      writeOomScoreAdj(sys, pid, proc.oomScoreAdj);
      const inside = namespacesOf(pid, spec.linux?.namespaces);
      const r = inNamespaces(sys, inside, described(spec.linux?.namespaces, 'the main thread joins it to set the container up'), () =>
        setUpContainer(sys, { spec, rootfs: i.rootfs, bundle: i.bundle, noPivot: i.noPivot, consoleFd: i.consoleFd, pid, state }),
      );
      try {
        const plan = stagePlan({
          proc,
          binary: r.binary,
          env: r.env,
          seccomp,
          callerNofile: callerNofile(sys),
          lastCap: lastCap(),
          heldBounding: heldBounding(),
          fifoFd: 4,
          state: { ...state, status: 'created', pid },
          startContainer: spec.hooks?.startContainer,
          warn: (m) => i.onLog('warning', m),
        });
        if (preserved.length) plan.push(['preserve', `5 ${preserved.length}`]);
        explainPlan(plan);
        const fds = [{ name: 'root', fd: r.rootFd }, ...(r.ttyFd !== undefined ? [{ name: 'tty', fd: r.ttyFd }] : [])];
        channel.send('plan', plan, fds);
      } finally {
        sys.close(r.rootFd);
        if (r.ttyFd !== undefined) sys.close(r.ttyFd);
      }
      channel.expect('ready');
    },
    async release() {
      channel.send('release', []);
      // The stage closes its end once it has read "release".
      channel.expect('eof');
      channel.close();
    },
    async abort() {
      channel.close();
      await killChild(child);
    },
  };
}

/** --explain: what the stage will do with the plan, in its order, each with the config entry it comes from. */
export function explainPlan(plan: readonly (readonly [string, string])[]): void {
  const all = (k: string): string[] => plan.filter(([x]) => x === k).map(([, v]) => v);
  const one = (k: string): string | undefined => all(k)[0];
  const step = (call: string, why: string): void => emit('step', `stage: ${call}`, 'planned', why);
  for (const r of all('rlimit')) step(`setrlimit(${r.replace(/ /g, ', ')})`, 'process.rlimits (or the caller\'s RLIMIT_NOFILE, which Node raised)');
  step(`umask(0${one('umask')})`, 'process.user.umask');
  const nnp = one('nnp') !== undefined;
  if (one('seccomp') && !nnp) step(`seccomp(SECCOMP_SET_MODE_FILTER, ${one('seccompflags')}, <${one('seccomp')!.length / 16} instructions>)`, 'linux.seccomp (before dropping CAP_SYS_ADMIN: no no_new_privs)');
  step(`chdir(${JSON.stringify(one('cwd'))})`, 'process.cwd (as root; again as the user if root is refused)');
  if (one('caps')) step(`prctl(PR_CAPBSET_DROP, …) for each cap not in ${one('caps')!.split(' ')[0]}`, 'process.capabilities.bounding');
  if (one('groups') !== undefined) step(`setgroups([${one('groups')!.split(' ').filter(Boolean).join(', ')}])`, 'process.user.additionalGids');
  step(`setresgid/setresuid(${one('user')!.replace(' ', ', ')})`, 'process.user {uid, gid}');
  if (one('caps')) step(`capset(${one('caps')})`, 'process.capabilities.{effective,permitted,inheritable}');
  for (const a of all('ambient')) step(`prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, ${a})`, 'process.capabilities.ambient');
  if (nnp) step('prctl(PR_SET_NO_NEW_PRIVS, 1)', 'process.noNewPrivileges');
  if (one('seccomp') && nnp) step(`seccomp(SECCOMP_SET_MODE_FILTER, ${one('seccompflags')}, <${one('seccomp')!.length / 16} instructions>)`, 'linux.seccomp (after no_new_privs)');
  step('close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) (or each fd in /proc/self/fd)', 'no fd of the runtime may leak into the container');
  if (one('fifo')) step(`open("/proc/self/fd/${one('fifo')}", O_WRONLY) and write "0"`, 'exec.fifo: blocks until `tsrun start`');
  for (const h of all('hook.path')) step(`run ${h}`, 'hooks.startContainer');
  step(`execve(${JSON.stringify(one('path'))}, ${JSON.stringify(all('arg'))}, <${all('env').length} env vars>)`, 'process.args');
}
