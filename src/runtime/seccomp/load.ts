import type { SeccompLib } from './libseccomp.js';
import { ATTR } from './libseccomp.js';
import type { SeccompPlan } from './plan.js';

// Builds the filter from a plan and loads it on the calling thread. Unknown
// syscall names are skipped (a profile lists syscalls newer kernels added),
// and reported through `debug` like runc does.

export function loadSeccomp(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void): void {
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
    lib.load(ctx);
  } finally {
    lib.release(ctx);
  }
}
