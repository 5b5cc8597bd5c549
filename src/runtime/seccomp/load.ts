import type { SeccompLib } from './libseccomp.js';
import { ATTR } from './libseccomp.js';
import type { SeccompPlan } from './plan.js';

// Builds the filter from a plan and loads it on the calling thread. Unknown
// syscall names are skipped (a profile lists syscalls newer kernels added),
// and reported through `debug` like runc does.

export function loadSeccomp(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void): void {
  withFilter(lib, plan, debug, (ctx) => lib.load(ctx));
}

/** The same filter compiled to BPF, for the C stage to load with seccomp(2). */
export function compileSeccomp(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void): Buffer {
  return withFilter(lib, plan, debug, (ctx) => lib.exportBpf(ctx));
}

/** seccomp(2) flags for the spec's linux.seccomp.flags (libseccomp applies these at load, not in the BPF). */
export function seccompFlags(plan: SeccompPlan): number {
  const bits: Record<string, number> = { SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4 };
  const NEW_LISTENER = 8; // SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp(2) returns the fd the agent reads notifications from
  return plan.flags.reduce((acc, f) => acc | (bits[f] ?? 0), plan.listener ? NEW_LISTENER : 0);
}

function withFilter<T>(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void, use: (ctx: unknown) => T): T {
  const ctx = lib.init(plan.defaultAction);
  try {
    for (const arch of plan.arches) lib.archAdd(ctx, arch);
    // tsrun sets no_new_privs itself, from process.noNewPrivileges.
    lib.setAttr(ctx, ATTR.CTL_NNP, 0);
    if (plan.flags.includes('SECCOMP_FILTER_FLAG_TSYNC')) lib.setAttr(ctx, ATTR.CTL_TSYNC, 1);
    if (plan.flags.includes('SECCOMP_FILTER_FLAG_LOG')) lib.setAttr(ctx, ATTR.CTL_LOG, 1);
    if (plan.flags.includes('SECCOMP_FILTER_FLAG_SPEC_ALLOW')) lib.setAttr(ctx, ATTR.CTL_SSB, 1);
    for (const r of plan.rules) {
      const nr = lib.resolveSyscall(r.name);
      if (nr < 0) {
        debug(`seccomp: skipping unknown syscall "${r.name}"`);
        continue;
      }
      lib.ruleAdd(ctx, r.action, nr, r.args);
    }
    return use(ctx);
  } finally {
    lib.release(ctx);
  }
}
