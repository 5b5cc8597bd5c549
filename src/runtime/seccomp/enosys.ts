import { ACT } from './plan.js';

// A profile written before a syscall existed lists nothing about it, so its
// default action (often EPERM) would answer it, and programs that probe a new
// syscall and fall back on ENOSYS (glibc's clone3, faccessat2, …) break.
// Like runc, a filter whose default is not permissive gets a stub in front:
// on each of its architectures, a syscall numbered above the highest one the
// profile names fails with ENOSYS, as on a kernel that does not have it.

/** The highest syscall number a profile names on one architecture (an AUDIT_ARCH_* value, libseccomp's token). */
export interface LastSyscall {
  arch: number;
  last: number;
}

const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 syscalls arrive as x86_64 with this bit set: they are left to the filter. */
const X32_SYSCALL_BIT = 0x40000000;
const ENOSYS = 38;

// struct seccomp_data: nr at 0, arch at 4.
const OFF_NR = 0;
const OFF_ARCH = 4;

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JSET_K = 0x45;
const RET_K = 0x06;

type Insn = [code: number, jt: number, jf: number, k: number];

/** Does the default action let unknown syscalls through (then there is nothing to fix)? */
export function isPermissive(defaultAction: number): boolean {
  const kind = defaultAction & 0xffff0000;
  return defaultAction === ACT.ALLOW || defaultAction === ACT.LOG || (kind >>> 0) === ACT.TRACE;
}

/** BPF instructions (struct sock_filter, 8 bytes each) that fall through to the filter after them unless the syscall is too new. */
export function enosysStub(lasts: readonly LastSyscall[]): Buffer {
  const insns: Insn[] = [];
  for (const { arch, last } of lasts) {
    const x86_64 = arch === AUDIT_ARCH_X86_64;
    // Each block: ld arch; jeq arch (else next block); ld nr; [jset x32 → next block]; jgt last → ret ENOSYS.
    const rest = x86_64 ? 4 : 3;
    insns.push([LD_W_ABS, 0, 0, OFF_ARCH], [JEQ_K, 0, rest, arch], [LD_W_ABS, 0, 0, OFF_NR]);
    if (x86_64) insns.push([JSET_K, 2, 0, X32_SYSCALL_BIT]);
    insns.push([JGT_K, 0, 1, last], [RET_K, 0, 0, (ACT.ERRNO | ENOSYS) >>> 0]);
  }
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}
