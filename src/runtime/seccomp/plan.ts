import type { Seccomp } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { errnoNumber } from '../../sys/errno.js';

// linux.seccomp → a filter plan in libseccomp's numbers. Pure, so the whole
// translation is tested as tables; loading is seccomp/load.ts.

export const ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  NOTIFY: 0x7fc00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

/** libseccomp's arch names for the spec's SCMP_ARCH_* constants. */
export function archName(specArch: string): string {
  const rest = specArch.replace(/^SCMP_ARCH_/, '').toLowerCase();
  return rest === 'x86_64' ? 'x86_64' : rest;
}

export interface ArgCmp {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

export interface RulePlan {
  name: string;
  action: number;
  args: ArgCmp[];
}

export interface SeccompPlan {
  defaultAction: number;
  arches: string[];
  rules: RulePlan[];
  flags: string[];
  /** every syscall name the profile lists, whatever its action (for the ENOSYS stub: the newest one it knows of) */
  names: string[];
  /** SCMP_ACT_NOTIFY rules: the seccomp agent that gets the listener fd (runtime.md, "Seccomp listener") */
  listener?: { path: string; metadata?: string };
}

export function actionNumber(name: string, errnoRet: number | undefined, jsonPath: string): number {
  switch (name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return ACT.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return ACT.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return ACT.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (ACT.ERRNO | ((errnoRet ?? errnoNumber('EPERM')!) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (ACT.TRACE | ((errnoRet ?? errnoNumber('EPERM')!) & 0xffff)) >>> 0;
    case 'SCMP_ACT_LOG':
      return ACT.LOG;
    case 'SCMP_ACT_ALLOW':
      return ACT.ALLOW;
    case 'SCMP_ACT_NOTIFY':
      return ACT.NOTIFY;
    default:
      throw new TsrunError('SPEC_INVALID', `${jsonPath}: unknown seccomp action "${name}"`, { jsonPath });
  }
}

/** The syscall the stage hands the listener fd over with: a notification on it could never be answered. */
const HANDOVER_SYSCALL = 'sendmsg';

export function planSeccomp(s: Seccomp): SeccompPlan {
  const defaultAction = actionNumber(s.defaultAction, s.defaultErrnoRet, 'linux.seccomp.defaultAction');
  if (defaultAction === ACT.NOTIFY) {
    // Every syscall, the fd's own hand-over included, would wait for an agent that has no fd yet.
    throw new TsrunError('SPEC_INVALID', 'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the listener fd could never reach the agent)', { jsonPath: 'linux.seccomp.defaultAction' });
  }
  const rules: RulePlan[] = [];
  let firstNotify: string | undefined;
  (s.syscalls ?? []).forEach((sc, i) => {
    const path = `linux.seccomp.syscalls[${i}]`;
    const action = actionNumber(sc.action, sc.errnoRet, `${path}.action`);
    if (action === ACT.NOTIFY) {
      firstNotify ??= `${path}.action`;
      if (sc.names.includes(HANDOVER_SYSCALL)) {
        throw new TsrunError('SPEC_INVALID', `${path}: SCMP_ACT_NOTIFY cannot be used for ${HANDOVER_SYSCALL} (tsrun hands the listener fd to the agent with it)`, { jsonPath: `${path}.names` });
      }
    }
    const args: ArgCmp[] = (sc.args ?? []).map((a, j) => {
      const op = OPS[a.op];
      if (op === undefined) throw new TsrunError('SPEC_INVALID', `${path}.args[${j}].op: unknown operator "${a.op}"`, { jsonPath: `${path}.args[${j}].op` });
      return { arg: a.index, op, a: BigInt(a.value), b: BigInt(a.valueTwo ?? 0) };
    });
    // A rule with the default's action adds nothing (libseccomp refuses it).
    if (action === defaultAction) return;
    const sameIndexTwice = new Set(args.map((a) => a.arg)).size !== args.length;
    for (const name of sc.names ?? []) {
      // libseccomp ANDs the conditions of one rule; two conditions on one argument become two rules, like runc.
      if (sameIndexTwice) for (const a of args) rules.push({ name, action, args: [a] });
      else rules.push({ name, action, args });
    }
  });
  const names = [...new Set((s.syscalls ?? []).flatMap((sc) => sc.names))];
  const plan: SeccompPlan = { defaultAction, arches: (s.architectures ?? []).map(archName), rules, flags: (s.flags ?? []) as string[], names };
  if (firstNotify) {
    if (!s.listenerPath) {
      throw new TsrunError('SPEC_INVALID', `linux.seccomp.listenerPath: ${firstNotify} is SCMP_ACT_NOTIFY, which needs a seccomp agent: expected the path of its unix socket`, { jsonPath: 'linux.seccomp.listenerPath' });
    }
    plan.listener = { path: s.listenerPath, ...(s.listenerMetadata ? { metadata: s.listenerMetadata } : {}) };
  }
  return plan;
}
