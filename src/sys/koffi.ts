import { write as nodeWrite } from 'node:fs';
import type { LibraryHandle, TypeObject } from 'koffi';
import { loadKoffi, type Koffi } from './koffi-loader.js';
import { SyscallError, type CapSets, type FileStat, type Syscalls } from './syscalls.js';
import { errnoName, errnoNumber, errnoText } from './errno.js';
import { LINUX_CAPABILITY_VERSION_3, STAT_LAYOUT, SYS } from './constants.js';
import { mark } from '../explain/timings.js';

// The real kernel seam: libc through koffi. No logic here beyond marshalling
// and turning -1/errno into a SyscallError that names the call.
// koffi is loaded, and each libc function declared, on its first call: a
// command that makes no FFI call (`tsrun kill` uses Node's own kill(2)) never
// loads it, and one that makes three declares three.

let loaded: { koffi: Koffi; libc: LibraryHandle; CapData: TypeObject } | undefined;

function ffi(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const koffi = loadKoffi();
  // the structs are named, so declarations below can refer to them by name
  koffi.struct('tsrun_cap_header', { version: 'uint32', pid: 'int' });
  const CapData = koffi.struct('tsrun_cap_data', { effective: 'uint32', permitted: 'uint32', inheritable: 'uint32' });
  koffi.struct('tsrun_rlimit', { cur: 'uint64', max: 'uint64' });
  loaded = { koffi, libc: koffi.load('libc.so.6'), CapData };
  mark('koffi loaded');
  return loaded;
}

/** `libc.func(decl)`, declared when first called. */
const libc = {
  func(decl: string): (...args: unknown[]) => any {
    let f: ((...args: unknown[]) => any) | undefined;
    return (...args) => (f ??= ffi().libc.func(decl))(...args);
  },
};

const c = {
  unshare: libc.func('int unshare(int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  mount: libc.func('int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  syscall3s: libc.func('long syscall(long nr, ...)'),
  chroot: libc.func('int chroot(const char *path)'),
  chdir: libc.func('int chdir(const char *path)'),
  fchdir: libc.func('int fchdir(int fd)'),
  mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
  umask: libc.func('uint32_t umask(uint32_t mask)'),
  statfs: libc.func('int statfs(const char *path, _Out_ uint8_t *buf)'),
  openat: libc.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)'),
  mkdirat: libc.func('int mkdirat(int dirfd, const char *path, uint32_t mode)'),
  mknodat: libc.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)'),
  symlinkat: libc.func('int symlinkat(const char *target, int dirfd, const char *path)'),
  readlinkat: libc.func('intptr_t readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)'),
  fchownat: libc.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)'),
  fstat: libc.func('int fstat(int fd, _Out_ uint8_t *buf)'),
  unlinkat: libc.func('int unlinkat(int dirfd, const char *path, int flags)'),
  renameat: libc.func('int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)'),
  fchmodat: libc.func('int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)'),
  write: libc.func('intptr_t write(int fd, const uint8_t *buf, size_t count)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  setdomainname: libc.func('int setdomainname(const char *name, size_t len)'),
  prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  capget: libc.func('int capget(tsrun_cap_header *hdr, _Out_ tsrun_cap_data *data)'),
  capset: libc.func('int capset(tsrun_cap_header *hdr, tsrun_cap_data *data)'),
  setgroups: libc.func('int setgroups(size_t size, const uint32_t *list)'),
  setresgid: libc.func('int setresgid(uint32_t r, uint32_t e, uint32_t s)'),
  setresuid: libc.func('int setresuid(uint32_t r, uint32_t e, uint32_t s)'),
  setrlimit: libc.func('int setrlimit(int resource, const tsrun_rlimit *rlim)'),
  getrlimit: libc.func('int getrlimit(int resource, _Out_ tsrun_rlimit *rlim)'),
  open: libc.func('int open(const char *path, int flags, uint32_t mode)'),
  close: libc.func('int close(int fd)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  closeRange: libc.func('int close_range(unsigned int first, unsigned int last, int flags)'),
  signal: libc.func('void *signal(int signo, void *handler)'),
  sigprocmask: libc.func('int pthread_sigmask(int how, const uint8_t *set, uint8_t *old)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  flock: libc.func('int flock(int fd, int op)'),
  spawnFileActionsInit: libc.func('int posix_spawn_file_actions_init(uint8_t *fa)'),
  spawnFileActionsDup2: libc.func('int posix_spawn_file_actions_adddup2(uint8_t *fa, int fd, int newfd)'),
  spawnFileActionsChdir: libc.func('int posix_spawn_file_actions_addchdir_np(uint8_t *fa, const char *path)'),
  spawnFileActionsDestroy: libc.func('int posix_spawn_file_actions_destroy(uint8_t *fa)'),
  spawnAttrInit: libc.func('int posix_spawnattr_init(uint8_t *attr)'),
  spawnAttrSetFlags: libc.func('int posix_spawnattr_setflags(uint8_t *attr, short flags)'),
  spawnAttrSetSigMask: libc.func('int posix_spawnattr_setsigmask(uint8_t *attr, const uint8_t *set)'),
  spawnAttrSetSigDefault: libc.func('int posix_spawnattr_setsigdefault(uint8_t *attr, const uint8_t *set)'),
  spawnAttrDestroy: libc.func('int posix_spawnattr_destroy(uint8_t *attr)'),
  sigfillset: libc.func('int sigfillset(uint8_t *set)'),
  posixSpawn: libc.func('int posix_spawn(_Out_ int *pid, const char *path, const uint8_t *fa, const uint8_t *attr, const char **argv, const char **envp)'),
  waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  setsid: libc.func('int setsid()'),
  dup3: libc.func('int dup3(int oldfd, int newfd, int flags)'),
  ioctlVal: libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)'),
  ioctlPtr: libc.func('int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)'),
  connect: libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
  listen: libc.func('int listen(int fd, int backlog)'),
  accept: libc.func('int accept4(int fd, void *addr, void *len, int flags)'),
  sendmsg: libc.func('long sendmsg(int fd, const uint8_t *msg, int flags)'),
  recvmsg: libc.func('long recvmsg(int fd, _Inout_ uint8_t *msg, int flags)'),
  address: (b: Buffer): bigint => BigInt(ffi().koffi.address(b) as unknown as bigint),
  getpid: libc.func('int getpid()'),
  gettid: libc.func('int gettid()'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  socketpair: libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)'),
  bind: libc.func('int bind(int fd, const void *addr, uint32_t len)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
  sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)'),
  recvfrom: libc.func('intptr_t recvfrom(int fd, _Out_ void *buf, size_t len, int flags, void *addr, void *alen)'),
};

function fail(call: string, args: string): never {
  const errno = ffi().koffi.errno();
  const name = errnoName(errno);
  throw new SyscallError(call, args, errno, name, errnoText(name));
}

function check(ret: number, call: string, args: () => string): number {
  if (ret < 0) fail(call, args());
  return ret;
}

/** The posix_spawn family returns the error number itself. */
function spawnCheck(ret: number, call: string, args: () => string): void {
  if (ret === 0) return;
  const name = errnoName(ret);
  throw new SyscallError(call, args(), ret, name, errnoText(name));
}

const q = (s: string | null): string => (s === null ? 'NULL' : JSON.stringify(s));
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Splits a 64-bit capability mask into the kernel's two 32-bit words. */
function toWords(mask: bigint): [number, number] {
  return [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];
}

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/**
 * A struct msghdr (x86_64 layout) with one iovec over `data` and room for
 * `nfds` SCM_RIGHTS fds. The buffers are returned so they outlive the call.
 */
/**
 * A struct msghdr pointing at the iovec and control buffers by raw address: the
 * caller must keep every buffer returned here alive until the call has returned
 * (`keepAlive`), or the GC may free one the kernel is about to read.
 */
function msghdr(data: Buffer, nfds: number, fds: number[]): { msg: Buffer; iov: Buffer; iovData: Buffer; control: Buffer } {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(c.address(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const space = nfds ? 16 + Math.ceil((4 * nfds) / 8) * 8 : 0;
  const control = Buffer.alloc(Math.max(space, 8));
  if (fds.length) {
    control.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((f, i) => control.writeInt32LE(f, 16 + 4 * i));
  }
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(c.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  if (space) {
    msg.writeBigUInt64LE(c.address(control), 32);
    msg.writeBigUInt64LE(BigInt(space), 40);
  }
  return { msg, iov, iovData: data, control };
}

/** A use of the buffers after the call, so none is collected while the kernel reads it. */
function keepAlive(...buffers: Buffer[]): void {
  for (const b of buffers) if (b.length < 0) throw new Error('unreachable');
}

export class KoffiSyscalls implements Syscalls {
  unshare(flags: number): void {
    check(c.unshare(flags), 'unshare', () => hex(flags));
  }
  setns(fd: number, nstype: number): void {
    check(c.setns(fd, nstype), 'setns', () => `${fd}, ${hex(nstype)}`);
  }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    check(c.mount(source, target, fstype, flags, data), 'mount', () => `${q(source)}, ${q(target)}, ${q(fstype)}, ${hex(flags)}, ${q(data)}`);
  }
  umount2(target: string, flags: number): void {
    check(c.umount2(target, flags), 'umount2', () => `${q(target)}, ${flags}`);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    const ret = Number(c.syscall3s(SYS.pivot_root, 'const char *', newRoot, 'const char *', putOld));
    check(ret, 'pivot_root', () => `${q(newRoot)}, ${q(putOld)}`);
  }
  chroot(path: string): void {
    check(c.chroot(path), 'chroot', () => q(path));
  }
  chdir(path: string): void {
    check(c.chdir(path), 'chdir', () => q(path));
  }
  fchdir(fd: number): void {
    check(c.fchdir(fd), 'fchdir', () => String(fd));
  }
  mknod(path: string, mode: number, dev: bigint): void {
    check(c.mknod(path, mode, dev), 'mknod', () => `${q(path)}, 0${mode.toString(8)}, ${dev}`);
  }
  mkfifo(path: string, mode: number): void {
    check(c.mkfifo(path, mode), 'mkfifo', () => `${q(path)}, 0${mode.toString(8)}`);
  }
  umask(mask: number): number {
    return c.umask(mask);
  }
  mountSetattr(dirFd: number, path: string, flags: number, attrSet: number, attrClr: number): void {
    // struct mount_attr: attr_set, attr_clr, propagation, userns_fd (u64 each)
    const attr = Buffer.alloc(32);
    attr.writeBigUInt64LE(BigInt(attrSet), 0);
    attr.writeBigUInt64LE(BigInt(attrClr), 8);
    const ret = Number(c.syscall3s(SYS.mount_setattr, 'int', dirFd, 'const char *', path, 'unsigned int', flags, 'uint8_t *', attr, 'size_t', attr.length));
    check(ret, 'mount_setattr', () => `${dirFd}, ${q(path)}, ${hex(flags)}, {set: ${hex(attrSet)}, clr: ${hex(attrClr)}}`);
  }
  openTree(dirFd: number, path: string, flags: number): number {
    const ret = Number(c.syscall3s(SYS.open_tree, 'int', dirFd, 'const char *', path, 'unsigned int', flags));
    return check(ret, 'open_tree', () => `${dirFd}, ${q(path)}, ${hex(flags)}`);
  }
  moveMount(fromFd: number, fromPath: string, toFd: number, toPath: string, flags: number): void {
    const ret = Number(c.syscall3s(SYS.move_mount, 'int', fromFd, 'const char *', fromPath, 'int', toFd, 'const char *', toPath, 'unsigned int', flags));
    check(ret, 'move_mount', () => `${fromFd}, ${q(fromPath)}, ${toFd}, ${q(toPath)}, ${hex(flags)}`);
  }
  openat2(dirFd: number, path: string, flags: number, mode: number, resolve: number): number {
    // struct open_how: flags, mode, resolve (u64 each)
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags), 0);
    how.writeBigUInt64LE(BigInt(mode), 8);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    const ret = Number(c.syscall3s(SYS.openat2, 'int', dirFd, 'const char *', path, 'uint8_t *', how, 'size_t', how.length));
    return check(ret, 'openat2', () => `${dirFd}, ${q(path)}, {flags: ${hex(flags)}, resolve: ${hex(resolve)}}`);
  }
  openat(dirFd: number, path: string, flags: number, mode = 0): number {
    return check(c.openat(dirFd, path, flags, mode), 'openat', () => `${dirFd}, ${q(path)}, ${hex(flags)}`);
  }
  mkdirat(dirFd: number, path: string, mode: number): void {
    check(c.mkdirat(dirFd, path, mode), 'mkdirat', () => `${dirFd}, ${q(path)}, 0${mode.toString(8)}`);
  }
  mknodat(dirFd: number, path: string, mode: number, dev: bigint): void {
    check(c.mknodat(dirFd, path, mode, dev), 'mknodat', () => `${dirFd}, ${q(path)}, 0${mode.toString(8)}, ${dev}`);
  }
  symlinkat(target: string, dirFd: number, path: string): void {
    check(c.symlinkat(target, dirFd, path), 'symlinkat', () => `${q(target)}, ${dirFd}, ${q(path)}`);
  }
  readlinkat(dirFd: number, path: string): string {
    const buf = Buffer.alloc(4096);
    const n = check(Number(c.readlinkat(dirFd, path, buf, buf.length)), 'readlinkat', () => `${dirFd}, ${q(path)}`);
    return buf.subarray(0, n).toString();
  }
  fchownat(dirFd: number, path: string, uid: number, gid: number, flags: number): void {
    check(c.fchownat(dirFd, path, uid, gid, flags), 'fchownat', () => `${dirFd}, ${q(path)}, ${uid}, ${gid}, ${hex(flags)}`);
  }
  fstat(fd: number): FileStat {
    const buf = Buffer.alloc(STAT_LAYOUT.bytes);
    check(c.fstat(fd, buf), 'fstat', () => String(fd));
    return {
      mode: buf.readUInt32LE(STAT_LAYOUT.st_mode),
      uid: buf.readUInt32LE(STAT_LAYOUT.st_uid),
      gid: buf.readUInt32LE(STAT_LAYOUT.st_gid),
      rdev: buf.readBigUInt64LE(STAT_LAYOUT.st_rdev),
      size: Number(buf.readBigInt64LE(STAT_LAYOUT.st_size)),
    };
  }
  unlinkat(dirFd: number, path: string, flags: number): void {
    check(c.unlinkat(dirFd, path, flags), 'unlinkat', () => `${dirFd}, ${q(path)}, ${hex(flags)}`);
  }
  renameat(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string): void {
    check(c.renameat(oldDirFd, oldPath, newDirFd, newPath), 'renameat', () => `${oldDirFd}, ${q(oldPath)}, ${newDirFd}, ${q(newPath)}`);
  }
  fchmodat(dirFd: number, path: string, mode: number): void {
    check(c.fchmodat(dirFd, path, mode, 0), 'fchmodat', () => `${dirFd}, ${q(path)}, 0${mode.toString(8)}`);
  }
  write(fd: number, data: string | Buffer): number {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const n = check(Number(c.write(fd, buf, buf.length)), 'write', () => `${fd}, <${buf.length} bytes>`);
    // A short write would leave a torn value; files tsrun writes (control files, state) never do it.
    if (n !== buf.length) throw new SyscallError('write', `${fd}, <${buf.length} bytes>`, errnoNumber('EIO') ?? 5, 'EIO', `short write: ${n} of ${buf.length} bytes`);
    return n;
  }
  writeAsync(fd: number, data: string | Buffer): Promise<number> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    // node:fs's write runs write(2) on a libuv pool thread and keeps its errno (koffi's async calls lose it).
    return new Promise((resolve, reject) => {
      nodeWrite(fd, buf, 0, buf.length, null, (err, n) => {
        if (!err && n === buf.length) return resolve(n);
        const name = err?.code ?? 'EIO';
        reject(new SyscallError('write', `${fd}, <${buf.length} bytes>`, errnoNumber(name) ?? 5, name, err ? errnoText(name) : `short write: ${n} of ${buf.length} bytes`));
      });
    });
  }
  statfsFlags(path: string): number {
    // struct statfs on x86_64: eleven 8-byte fields before f_spare; f_flags is the 11th.
    const buf = Buffer.alloc(120);
    check(c.statfs(path, buf), 'statfs', () => q(path));
    return Number(buf.readBigUInt64LE(80));
  }
  sethostname(name: string): void {
    check(c.sethostname(name, Buffer.byteLength(name)), 'sethostname', () => q(name));
  }
  setdomainname(name: string): void {
    check(c.setdomainname(name, Buffer.byteLength(name)), 'setdomainname', () => q(name));
  }
  prctl(option: number, arg2: number | bigint, arg3: number | bigint = 0, arg4 = 0, arg5 = 0): number {
    return check(c.prctl(option, arg2, arg3, arg4, arg5), 'prctl', () => `${option}, ${arg2}, ${arg3}`);
  }
  capget(): CapSets {
    type Words = { effective: number; permitted: number; inheritable: number }[];
    const { koffi, CapData } = ffi();
    const dataArr = koffi.alloc(CapData, 2);
    check(c.capget({ version: LINUX_CAPABILITY_VERSION_3, pid: 0 }, dataArr), 'capget', () => '0');
    const words = koffi.decode(dataArr, CapData, 2) as Words;
    koffi.free(dataArr);
    const join64 = (k: 'effective' | 'permitted' | 'inheritable'): bigint =>
      BigInt(words[0]![k] >>> 0) | (BigInt(words[1]![k] >>> 0) << 32n);
    return { effective: join64('effective'), permitted: join64('permitted'), inheritable: join64('inheritable') };
  }
  capset(sets: CapSets): void {
    const [e0, e1] = toWords(sets.effective);
    const [p0, p1] = toWords(sets.permitted);
    const [i0, i1] = toWords(sets.inheritable);
    const { koffi, CapData } = ffi();
    const data = koffi.as(
      [
        { effective: e0, permitted: p0, inheritable: i0 },
        { effective: e1, permitted: p1, inheritable: i1 },
      ],
      koffi.pointer(CapData),
    );
    check(c.capset({ version: LINUX_CAPABILITY_VERSION_3, pid: 0 }, data), 'capset', () =>
      `eff=${hex(Number(sets.effective & 0xffffffffn))}…`,
    );
  }
  setgroups(gids: number[]): void {
    check(c.setgroups(gids.length, gids.length ? new Uint32Array(gids) : null), 'setgroups', () => `[${gids.join(', ')}]`);
  }
  setresgid(r: number, e: number, s: number): void {
    check(c.setresgid(r, e, s), 'setresgid', () => `${r}, ${e}, ${s}`);
  }
  setresuid(r: number, e: number, s: number): void {
    check(c.setresuid(r, e, s), 'setresuid', () => `${r}, ${e}, ${s}`);
  }
  setrlimit(resource: number, soft: bigint, hard: bigint): void {
    check(c.setrlimit(resource, { cur: soft, max: hard }), 'setrlimit', () => `${resource}, ${soft}, ${hard}`);
  }
  getrlimit(resource: number): { soft: bigint; hard: bigint } {
    const out = { cur: 0n, max: 0n };
    check(c.getrlimit(resource, out), 'getrlimit', () => String(resource));
    return { soft: BigInt(out.cur), hard: BigInt(out.max) };
  }
  open(path: string, flags: number, mode = 0): number {
    return check(c.open(path, flags, mode), 'open', () => `${q(path)}, ${hex(flags)}`);
  }
  close(fd: number): void {
    check(c.close(fd), 'close', () => String(fd));
  }
  dupAbove(fd: number, min: number): number {
    const F_DUPFD_CLOEXEC = 1030;
    return check(c.fcntl(fd, F_DUPFD_CLOEXEC, min), 'fcntl', () => `${fd}, F_DUPFD_CLOEXEC, ${min}`);
  }
  fcntlSetCloexec(fd: number, cloexec: boolean): void {
    const F_SETFD = 2;
    check(c.fcntl(fd, F_SETFD, cloexec ? 1 : 0), 'fcntl', () => `${fd}, F_SETFD, ${cloexec ? 'FD_CLOEXEC' : 0}`);
  }
  closeRange(first: number, last: number, flags: number): void {
    check(c.closeRange(first, last, flags), 'close_range', () => `${first}, ${last}, ${flags}`);
  }
  resetSignal(signo: number): void {
    c.signal(signo, null);
  }
  unblockAllSignals(): void {
    const SIG_SETMASK = 2;
    check(c.sigprocmask(SIG_SETMASK, Buffer.alloc(128), null), 'pthread_sigmask', () => 'SIG_SETMASK, {}');
  }
  execve(path: string, argv: string[], envp: string[]): never {
    c.execve(path, [...argv, null], [...envp, null]);
    fail('execve', q(path));
  }
  spawn(path: string, argv: string[], envp: string[], fds: number[]): number {
    const F_DUPFD_CLOEXEC = 1030;
    const POSIX_SPAWN_SETSIGDEF = 0x04;
    const POSIX_SPAWN_SETSIGMASK = 0x08;
    const args = () => `${q(path)}, [${argv.map(q).join(', ')}], fds [${fds.join(', ')}]`;
    // Each source copied above every target first, so no dup2 overwrites a source still to be copied.
    const copies: number[] = [];
    const actions = Buffer.alloc(256); // posix_spawn_file_actions_t is 80 bytes on glibc
    const attr = Buffer.alloc(512); // posix_spawnattr_t is 336
    try {
      for (const fd of fds) copies.push(check(c.fcntl(fd, F_DUPFD_CLOEXEC, fds.length), 'fcntl', () => `${fd}, F_DUPFD_CLOEXEC, ${fds.length}`));
      c.spawnFileActionsInit(actions);
      c.spawnAttrInit(attr);
      try {
        // adddup2 onto a free number leaves the copy without FD_CLOEXEC, as the child needs it
        for (const [i, copy] of copies.entries()) spawnCheck(c.spawnFileActionsDup2(actions, copy, i), 'posix_spawn_file_actions_adddup2', args);
        spawnCheck(c.spawnFileActionsChdir(actions, '/'), 'posix_spawn_file_actions_addchdir_np', args);
        const all = Buffer.alloc(128);
        c.sigfillset(all);
        spawnCheck(c.spawnAttrSetSigDefault(attr, all), 'posix_spawnattr_setsigdefault', args);
        spawnCheck(c.spawnAttrSetSigMask(attr, Buffer.alloc(128)), 'posix_spawnattr_setsigmask', args);
        spawnCheck(c.spawnAttrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), 'posix_spawnattr_setflags', args);
        const pid = [0];
        spawnCheck(c.posixSpawn(pid, path, actions, attr, [...argv, null], [...envp, null]), 'posix_spawn', args);
        return pid[0]!;
      } finally {
        c.spawnFileActionsDestroy(actions);
        c.spawnAttrDestroy(attr);
      }
    } finally {
      for (const copy of copies) c.close(copy);
    }
  }
  waitpidNoHang(pid: number): number | undefined {
    const WNOHANG = 1;
    const status = Buffer.alloc(4);
    const r = check(c.waitpid(pid, status, WNOHANG), 'waitpid', () => `${pid}, WNOHANG`);
    return r === pid ? status.readInt32LE(0) : undefined;
  }
  kill(pid: number, signal: number): void {
    // Node's own binding is the same kill(2), without loading koffi.
    try {
      process.kill(pid, signal);
    } catch (err) {
      const name = (err as NodeJS.ErrnoException).code ?? 'EINVAL';
      throw new SyscallError('kill', `${pid}, ${signal}`, errnoNumber(name) ?? 0, name, errnoText(name));
    }
  }
  setsid(): number {
    return check(c.setsid(), 'setsid', () => '');
  }
  dup3(oldFd: number, newFd: number, flags: number): void {
    check(c.dup3(oldFd, newFd, flags), 'dup3', () => `${oldFd}, ${newFd}, ${flags}`);
  }
  ioctl(fd: number, request: number, arg: number | Buffer): number {
    const ret = typeof arg === 'number' ? c.ioctlVal(fd, request, arg) : c.ioctlPtr(fd, request, arg);
    return check(ret, 'ioctl', () => `${fd}, ${hex(request)}`);
  }
  connect(fd: number, addr: Buffer): void {
    check(c.connect(fd, addr, addr.length), 'connect', () => `${fd}, ${addr.subarray(2).toString().replace(/\0+$/, '')}`);
  }
  listen(fd: number, backlog: number): void {
    check(c.listen(fd, backlog), 'listen', () => `${fd}, ${backlog}`);
  }
  accept(fd: number): number {
    const SOCK_CLOEXEC = 0o2000000;
    return check(c.accept(fd, null, null, SOCK_CLOEXEC), 'accept4', () => String(fd));
  }
  sendmsgFds(fd: number, data: Buffer, fds: number[]): number {
    const { msg, iov, control } = msghdr(data, fds.length, fds);
    const n = Number(c.sendmsg(fd, msg, 0));
    keepAlive(msg, iov, control, data);
    return check(n, 'sendmsg', () => `${fd}, ${data.length} bytes, fds [${fds.join(', ')}]`);
  }
  recvmsgFds(fd: number, maxData: number, maxFds: number): { data: Buffer; fds: number[] } {
    const { msg, iov, iovData, control } = msghdr(Buffer.alloc(maxData), maxFds, []);
    const got = Number(c.recvmsg(fd, msg, 0));
    keepAlive(msg, iov, iovData, control);
    const n = check(got, 'recvmsg', () => String(fd));
    const controllen = Number(msg.readBigUInt64LE(40));
    const fds: number[] = [];
    // One cmsghdr {len u64, level i32, type i32} then the fds.
    if (controllen >= 16 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
      const count = (Number(control.readBigUInt64LE(0)) - 16) / 4;
      for (let i = 0; i < count; i++) fds.push(control.readInt32LE(16 + 4 * i));
    }
    return { data: Buffer.from(iovData.subarray(0, n)), fds };
  }
  flock(fd: number, operation: number): void {
    check(c.flock(fd, operation), 'flock', () => `${fd}, ${operation}`);
  }
  getpid(): number {
    return c.getpid();
  }
  gettid(): number {
    return c.gettid();
  }
  socket(domain: number, type: number, protocol: number): number {
    return check(c.socket(domain, type, protocol), 'socket', () => `${domain}, ${hex(type)}, ${protocol}`);
  }
  socketpair(domain: number, type: number, protocol: number): [number, number] {
    const sv = new Int32Array(2);
    check(c.socketpair(domain, type, protocol, sv), 'socketpair', () => `${domain}, ${hex(type)}, ${protocol}`);
    return [sv[0]!, sv[1]!];
  }
  bind(fd: number, addr: Buffer): void {
    check(c.bind(fd, addr, addr.length), 'bind', () => `${fd}, <${addr.length} bytes>`);
  }
  setsockopt(fd: number, level: number, name: number, value: Buffer): void {
    check(c.setsockopt(fd, level, name, value, value.length), 'setsockopt', () => `${fd}, ${level}, ${name}`);
  }
  sendto(fd: number, buf: Buffer, flags: number, addr: Buffer | null): number {
    return check(Number(c.sendto(fd, buf, buf.length, flags, addr, addr ? addr.length : 0)), 'sendto', () => `${fd}, <${buf.length} bytes>, ${hex(flags)}`);
  }
  recvfrom(fd: number, buf: Buffer, flags: number): number {
    return check(Number(c.recvfrom(fd, buf, buf.length, flags, null, null)), 'recvfrom', () => `${fd}, <${buf.length} bytes>, ${hex(flags)}`);
  }
}
