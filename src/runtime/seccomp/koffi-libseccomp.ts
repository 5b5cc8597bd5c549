import { closeSync, readFileSync } from 'node:fs';
import { loadKoffi } from '../../sys/koffi-loader.js';
import { SYS } from '../../sys/constants.js';
import { SyscallError } from '../../sys/syscalls.js';
import { errnoName, errnoText } from '../../sys/errno.js';
import type { SeccompLib } from './libseccomp.js';
import type { ArgCmp } from './plan.js';

// libseccomp.so.2 through koffi. Its functions return -errno on failure.

// Bound when a KoffiSeccomp is made, so an init without seccomp never needs libseccomp.
function bind() {
  const koffi = loadKoffi();
  const lib = koffi.load('libseccomp.so.2');
  koffi.struct('tsrun_scmp_arg_cmp', { arg: 'uint32', op: 'int', datum_a: 'uint64', datum_b: 'uint64' });
  koffi.struct('tsrun_sock_fprog', { len: 'uint16', filter: 'uint8_t *' });
  const libc = koffi.load('libc.so.6');

  return {
  init: lib.func('void *seccomp_init(uint32_t def_action)'),
  archResolve: lib.func('uint32_t seccomp_arch_resolve_name(const char *name)'),
  archAdd: lib.func('int seccomp_arch_add(void *ctx, uint32_t arch)'),
  resolve: lib.func('int seccomp_syscall_resolve_name(const char *name)'),
  resolveArch: lib.func('int seccomp_syscall_resolve_name_arch(uint32_t arch, const char *name)'),
  archNative: lib.func('uint32_t seccomp_arch_native(void)'),
  ruleAdd: lib.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int n, const tsrun_scmp_arg_cmp *args)'),
  attrSet: lib.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
  exportBpf: lib.func('int seccomp_export_bpf(void *ctx, int fd)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  seccompFilter: libc.func('long syscall(long nr, unsigned int op, unsigned int flags, const tsrun_sock_fprog *prog)'),
  errno: () => koffi.errno(),
  release: lib.func('void seccomp_release(void *ctx)'),
  };
}
let bound: ReturnType<typeof bind> | undefined;
const lazy = (): ReturnType<typeof bind> => (bound ??= bind());

function check(ret: number, call: string, args: string): void {
  if (ret < 0) throw new SyscallError(call, args, -ret, errnoName(-ret), errnoText(errnoName(-ret)));
}

export class KoffiSeccomp implements SeccompLib {
  /** Binds libseccomp now: construct it before pivot_root, while the host's libraries are visible. */
  constructor() {
    lazy();
  }

  init(defaultAction: number): unknown {
    const ctx = lazy().init(defaultAction >>> 0);
    if (!ctx) throw new SyscallError('seccomp_init', `0x${defaultAction.toString(16)}`, 22, 'EINVAL', 'invalid argument');
    return ctx;
  }
  archAdd(ctx: unknown, arch: string): void {
    const token = lazy().archResolve(arch);
    if (!token) throw new SyscallError('seccomp_arch_resolve_name', JSON.stringify(arch), 22, 'EINVAL', 'unknown architecture');
    const ret = lazy().archAdd(ctx, token);
    if (ret !== -17) check(ret, 'seccomp_arch_add', arch); // EEXIST: the native arch is always there
  }
  resolveSyscall(name: string): number {
    return lazy().resolve(name);
  }
  archToken(arch?: string): number {
    return arch === undefined ? lazy().archNative() : lazy().archResolve(arch);
  }
  resolveSyscallArch(arch: number, name: string): number {
    return lazy().resolveArch(arch >>> 0, name);
  }
  ruleAdd(ctx: unknown, action: number, syscall: number, args: ArgCmp[]): void {
    const arr = args.map((a) => ({ arg: a.arg, op: a.op, datum_a: a.a, datum_b: a.b }));
    check(lazy().ruleAdd(ctx, action >>> 0, syscall, arr.length, arr.length ? arr : null), 'seccomp_rule_add_array', `syscall ${syscall}`);
  }
  setAttr(ctx: unknown, attr: number, value: number): void {
    check(lazy().attrSet(ctx, attr, value), 'seccomp_attr_set', `${attr}, ${value}`);
  }
  exportBpf(ctx: unknown): Buffer {
    const MFD_CLOEXEC = 1;
    const fd = lazy().memfdCreate('tsrun-seccomp', MFD_CLOEXEC);
    if (fd < 0) throw new SyscallError('memfd_create', '"tsrun-seccomp"', 24, 'EMFILE', 'could not make a buffer for the filter');
    try {
      check(lazy().exportBpf(ctx, fd), 'seccomp_export_bpf', String(fd));
      return readFileSync(`/proc/self/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
  }
  loadBpf(bpf: Buffer, flags: number): number {
    const SECCOMP_SET_MODE_FILTER = 1;
    const ret = Number(lazy().seccompFilter(SYS.seccomp, SECCOMP_SET_MODE_FILTER, flags >>> 0, { len: bpf.length / 8, filter: bpf }));
    if (ret < 0) {
      const errno = lazy().errno();
      throw new SyscallError('seccomp', `SECCOMP_SET_MODE_FILTER, ${flags}, <${bpf.length / 8} instructions>`, errno, errnoName(errno), errnoText(errnoName(errno)));
    }
    return ret;
  }
  release(ctx: unknown): void {
    lazy().release(ctx);
  }
}
