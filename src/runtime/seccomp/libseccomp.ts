import type { ArgCmp } from './plan.js';

// The few libseccomp calls tsrun needs, behind an interface so the loader is
// testable with a fake (like Syscalls). The koffi binding is load.ts's default.

export interface SeccompLib {
  init(defaultAction: number): unknown;
  archAdd(ctx: unknown, arch: string): void;
  resolveSyscall(name: string): number;
  ruleAdd(ctx: unknown, action: number, syscall: number, args: ArgCmp[]): void;
  setAttr(ctx: unknown, attr: number, value: number): void;
  load(ctx: unknown): void;
  /** The filter as BPF bytes (seccomp_export_bpf), for a stage to load with seccomp(2). */
  exportBpf(ctx: unknown): Buffer;
  release(ctx: unknown): void;
}

export const ATTR = { CTL_NNP: 3, CTL_TSYNC: 4, CTL_LOG: 6, CTL_SSB: 7 } as const;
