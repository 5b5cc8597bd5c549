import type { ArgCmp } from './plan.js';

// The few libseccomp calls tsrun needs, behind an interface so the loader is
// testable with a fake (like Syscalls). The koffi binding is load.ts's default.

export interface SeccompLib {
  init(defaultAction: number): unknown;
  archAdd(ctx: unknown, arch: string): void;
  resolveSyscall(name: string): number;
  /** libseccomp's token (the AUDIT_ARCH_* value) for an arch name, 0 when unknown; `undefined`: the native arch */
  archToken(arch?: string): number;
  /** A syscall's number on one arch (by token), negative when libseccomp does not know it there */
  resolveSyscallArch(arch: number, name: string): number;
  ruleAdd(ctx: unknown, action: number, syscall: number, args: ArgCmp[]): void;
  setAttr(ctx: unknown, attr: number, value: number): void;
  /** The filter as BPF bytes (seccomp_export_bpf), for a stage to load with seccomp(2). */
  exportBpf(ctx: unknown): Buffer;
  /** seccomp(2) SECCOMP_SET_MODE_FILTER with this BPF: the listener fd with NEW_LISTENER, else 0 */
  loadBpf(bpf: Buffer, flags: number): number;
  release(ctx: unknown): void;
}

export const ATTR = { CTL_NNP: 3 } as const;
