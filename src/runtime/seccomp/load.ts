import type { SeccompLib } from './libseccomp.js';
import { ATTR } from './libseccomp.js';
import type { SeccompPlan } from './plan.js';
import { enosysStub, isPermissive, type LastSyscall } from './enosys.js';

// Builds the filter from a plan, as BPF for seccomp(2). Unknown syscall names
// are skipped (a profile lists syscalls newer kernels added), and reported
// through `debug` like runc does.

/** The same filter compiled to BPF, for the C stage to load with seccomp(2); the ENOSYS stub (enosys.ts) goes in front. */
export function compileSeccomp(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void): Buffer {
  const bpf = withFilter(lib, plan, debug, (ctx) => lib.exportBpf(ctx));
  if (isPermissive(plan.defaultAction)) return bpf;
  return Buffer.concat([enosysStub(lastSyscalls(lib, plan)), bpf]);
}

/** Per architecture of the filter, the highest syscall number the profile names there. */
export function lastSyscalls(lib: SeccompLib, plan: SeccompPlan): LastSyscall[] {
  const arches = [...new Set([lib.archToken(), ...plan.arches.map((a) => lib.archToken(a))])].filter((t) => t !== 0);
  const out: LastSyscall[] = [];
  for (const arch of arches) {
    const nrs = plan.names.map((n) => lib.resolveSyscallArch(arch, n)).filter((nr) => nr >= 0);
    if (nrs.length) out.push({ arch, last: Math.max(...nrs) });
  }
  return out;
}

/** seccomp(2) flags for the spec's linux.seccomp.flags (they are not in the BPF). */
export function seccompFlags(plan: SeccompPlan): number {
  const bits: Record<string, number> = { SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4 };
  const NEW_LISTENER = 8; // SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp(2) returns the fd the agent reads notifications from
  return plan.flags.reduce((acc, f) => acc | (bits[f] ?? 0), plan.listener ? NEW_LISTENER : 0);
}

function withFilter<T>(lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void, use: (ctx: unknown) => T): T {
  const ctx = lib.init(plan.defaultAction);
  try {
    for (const arch of plan.arches) lib.archAdd(ctx, arch);
    // tsrun sets no_new_privs itself, from process.noNewPrivileges; the flags go to seccomp(2) (seccompFlags).
    lib.setAttr(ctx, ATTR.CTL_NNP, 0);
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
