import { SyscallError, type CapSets, type FileStat, type Syscalls } from './syscalls.js';
import { S } from './constants.js';
import { errnoName, errnoNumber, errnoText } from './errno.js';

// A recording fake for unit tests: one ordered log of every call (so tests can
// assert order across call kinds), and scripted failures by name.

export interface Call {
  name: keyof Syscalls;
  args: unknown[];
}

interface Failure {
  errno: string;
  times: number;
  when?: (args: unknown[]) => boolean;
}

/** Thrown by the fake's execve: the real one never returns. */
export class FakeExec extends Error {
  constructor(readonly path: string, readonly argv: string[], readonly envp: string[]) {
    super(`execve ${path}`);
  }
}

export class FakeSyscalls implements Syscalls {
  readonly calls: Call[] = [];
  private failures = new Map<string, Failure[]>();
  private nextFd = 100;
  caps: CapSets = { effective: (1n << 41n) - 1n, permitted: (1n << 41n) - 1n, inheritable: 0n };
  rlimits = new Map<number, { soft: bigint; hard: bigint }>();
  pid = 4242;
  /** The path each fd from open/openat/openat2 was opened with (relative to its dir fd, as given). */
  readonly fdPaths = new Map<number, string>();
  /** fstat answers by the path an fd was opened with (see fdPaths); anything else is a directory. */
  readonly stats = new Map<string, FileStat>();
  /** readlinkat answers by path (an empty path: the path the fd was opened with). */
  readonly links = new Map<string, string>();

  /** The next `times` calls of `name` (matching `when`, if given) fail with `errno`. */
  failOn(name: keyof Syscalls, errno: string, times = 1, when?: (args: unknown[]) => boolean): this {
    const list = this.failures.get(name) ?? [];
    list.push({ errno, times, when });
    this.failures.set(name, list);
    return this;
  }

  /** A file the fake's fstat reports (by the path an fd was opened with). */
  setStat(path: string, type: 'file' | 'dir' | 'link' | 'chr', mode = 0o644, rdev = 0n, size = 0): this {
    const bits = { file: S.IFREG, dir: S.IFDIR, link: S.IFLNK, chr: S.IFCHR }[type];
    this.stats.set(path, { mode: bits | mode, uid: 0, gid: 0, rdev, size });
    return this;
  }

  private newFd(name: string): number {
    const fd = this.nextFd++;
    this.fdPaths.set(fd, name);
    return fd;
  }

  /** Names of the calls made, in order; handy for sequence assertions. */
  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  private record(name: keyof Syscalls, args: unknown[]): void {
    this.calls.push({ name, args });
    const list = this.failures.get(name);
    const f = list?.find((x) => x.times > 0 && (!x.when || x.when(args)));
    if (f) {
      f.times--;
      const num = errnoNumber(f.errno) ?? 0;
      throw new SyscallError(name, args.map((a) => JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).join(', '), num, errnoName(num), errnoText(f.errno));
    }
  }

  unshare(flags: number): void { this.record('unshare', [flags]); }
  setns(fd: number, nstype: number): void { this.record('setns', [fd, nstype]); }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.record('mount', [source, target, fstype, flags, data]);
  }
  umount2(target: string, flags: number): void { this.record('umount2', [target, flags]); }
  pivotRoot(newRoot: string, putOld: string): void { this.record('pivotRoot', [newRoot, putOld]); }
  chroot(path: string): void { this.record('chroot', [path]); }
  chdir(path: string): void { this.record('chdir', [path]); }
  fchdir(fd: number): void { this.record('fchdir', [fd]); }
  mknod(path: string, mode: number, dev: bigint): void { this.record('mknod', [path, mode, dev]); }
  mkfifo(path: string, mode: number): void { this.record('mkfifo', [path, mode]); }
  umask(mask: number): number { this.record('umask', [mask]); return 0o022; }
  statfsFlags(path: string): number { this.record('statfsFlags', [path]); return 0; }
  openTree(dirFd: number, path: string, flags: number): number {
    this.record('openTree', [dirFd, path, flags]);
    return this.nextFd++;
  }
  moveMount(fromFd: number, fromPath: string, toFd: number, toPath: string, flags: number): void {
    this.record('moveMount', [fromFd, fromPath, toFd, toPath, flags]);
  }
  mountSetattr(dirFd: number, path: string, flags: number, attrSet: number, attrClr: number): void {
    this.record('mountSetattr', [dirFd, path, flags, attrSet, attrClr]);
  }
  openat2(dirFd: number, path: string, flags: number, mode: number, resolve: number): number {
    this.record('openat2', [dirFd, path, flags, mode, resolve]);
    return this.newFd(path);
  }
  openat(dirFd: number, path: string, flags: number, mode = 0): number {
    this.record('openat', [dirFd, path, flags, mode]);
    return this.newFd(path);
  }
  mkdirat(dirFd: number, path: string, mode: number): void { this.record('mkdirat', [dirFd, path, mode]); }
  mknodat(dirFd: number, path: string, mode: number, dev: bigint): void { this.record('mknodat', [dirFd, path, mode, dev]); }
  symlinkat(target: string, dirFd: number, path: string): void { this.record('symlinkat', [target, dirFd, path]); }
  readlinkat(dirFd: number, path: string): string {
    this.record('readlinkat', [dirFd, path]);
    return this.links.get(path === '' ? (this.fdPaths.get(dirFd) ?? '') : path) ?? '';
  }
  fchownat(dirFd: number, path: string, uid: number, gid: number, flags: number): void {
    this.record('fchownat', [dirFd, path, uid, gid, flags]);
  }
  fstat(fd: number): FileStat {
    this.record('fstat', [fd]);
    return this.stats.get(this.fdPaths.get(fd) ?? '') ?? { mode: S.IFDIR | 0o755, uid: 0, gid: 0, rdev: 0n, size: 0 };
  }
  unlinkat(dirFd: number, path: string, flags: number): void { this.record('unlinkat', [dirFd, path, flags]); }
  renameat(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string): void {
    this.record('renameat', [oldDirFd, oldPath, newDirFd, newPath]);
  }
  fchmodat(dirFd: number, path: string, mode: number): void { this.record('fchmodat', [dirFd, path, mode]); }
  /** What each write() wrote, in order, with the path its fd was opened with. */
  readonly written: { path: string; data: string }[] = [];
  write(fd: number, data: string | Buffer): number {
    this.record('write', [fd, data]);
    return this.noteWritten(fd, data);
  }
  async writeAsync(fd: number, data: string | Buffer): Promise<number> {
    this.record('writeAsync', [fd, data]);
    return this.noteWritten(fd, data);
  }
  private noteWritten(fd: number, data: string | Buffer): number {
    this.written.push({ path: this.fdPaths.get(fd) ?? `<fd ${fd}>`, data: data.toString() });
    return Buffer.byteLength(data);
  }
  sethostname(name: string): void { this.record('sethostname', [name]); }
  setdomainname(name: string): void { this.record('setdomainname', [name]); }
  prctl(option: number, arg2: number | bigint, arg3: number | bigint = 0, arg4 = 0, arg5 = 0): number {
    this.record('prctl', [option, arg2, arg3, arg4, arg5]);
    return 0;
  }
  capget(): CapSets { this.record('capget', []); return { ...this.caps }; }
  capset(sets: CapSets): void { this.record('capset', [sets]); this.caps = { ...sets }; }
  setgroups(gids: number[]): void { this.record('setgroups', [gids]); }
  setresgid(r: number, e: number, s: number): void { this.record('setresgid', [r, e, s]); }
  setresuid(r: number, e: number, s: number): void { this.record('setresuid', [r, e, s]); }
  setrlimit(resource: number, soft: bigint, hard: bigint): void {
    this.record('setrlimit', [resource, soft, hard]);
    this.rlimits.set(resource, { soft, hard });
  }
  getrlimit(resource: number): { soft: bigint; hard: bigint } {
    this.record('getrlimit', [resource]);
    return this.rlimits.get(resource) ?? { soft: 1024n, hard: 1048576n };
  }
  open(path: string, flags: number, mode = 0): number { this.record('open', [path, flags, mode]); return this.newFd(path); }
  close(fd: number): void { this.record('close', [fd]); }
  fcntlSetCloexec(fd: number, cloexec: boolean): void { this.record('fcntlSetCloexec', [fd, cloexec]); }
  dupAbove(fd: number, min: number): number { this.record('dupAbove', [fd, min]); return Math.max(min, this.nextFd++); }
  closeRange(first: number, last: number, flags: number): void { this.record('closeRange', [first, last, flags]); }
  resetSignal(signo: number): void { this.record('resetSignal', [signo]); }
  unblockAllSignals(): void { this.record('unblockAllSignals', []); }
  execve(path: string, argv: string[], envp: string[]): never {
    this.record('execve', [path, argv, envp]);
    throw new FakeExec(path, argv, envp);
  }
  kill(pid: number, signal: number): void { this.record('kill', [pid, signal]); }
  /** The pids spawn() hands out, and the wait status waitpidNoHang() answers for each (none: still running). */
  private nextChild = 4000;
  readonly waitStatus = new Map<number, number>();
  spawn(path: string, argv: string[], envp: string[], fds: number[]): number {
    this.record('spawn', [path, argv, envp, fds]);
    return this.nextChild++;
  }
  waitpidNoHang(pid: number): number | undefined {
    this.record('waitpidNoHang', [pid]);
    return this.waitStatus.get(pid);
  }
  setsid(): number { this.record('setsid', []); return this.pid; }
  dup3(oldFd: number, newFd: number, flags: number): void { this.record('dup3', [oldFd, newFd, flags]); }
  ioctl(fd: number, request: number, arg: number | Buffer): number { this.record('ioctl', [fd, request, arg]); return 0; }
  connect(fd: number, addr: Buffer): void { this.record('connect', [fd, addr]); }
  listen(fd: number, backlog: number): void { this.record('listen', [fd, backlog]); }
  accept(fd: number): number { this.record('accept', [fd]); return this.nextFd++; }
  sendmsgFds(fd: number, data: Buffer, fds: number[]): number { this.record('sendmsgFds', [fd, data, fds]); return data.length; }
  /** fds that come with the next recvmsgFds answers, in order (each entry: the fds of one answer) */
  readonly recvFdsQueue: number[][] = [];
  /** Answers from recvQueue, like recvfrom (a stage's replies), with the fds of recvFdsQueue. */
  recvmsgFds(fd: number, maxData: number, maxFds: number): { data: Buffer; fds: number[] } {
    this.record('recvmsgFds', [fd, maxData, maxFds]);
    const next = this.recvQueue.shift();
    if (!next) return { data: Buffer.alloc(0), fds: [] };
    if (next.length > maxData) this.recvQueue.unshift(next.subarray(maxData));
    return { data: Buffer.from(next.subarray(0, maxData)), fds: this.recvFdsQueue.shift() ?? [] };
  }
  flock(fd: number, operation: number): void { this.record('flock', [fd, operation]); }
  getpid(): number { this.record('getpid', []); return this.pid; }
  gettid(): number { this.record('gettid', []); return this.pid; }
  socket(domain: number, type: number, protocol: number): number { this.record('socket', [domain, type, protocol]); return this.nextFd++; }
  socketpair(domain: number, type: number, protocol: number): [number, number] {
    this.record('socketpair', [domain, type, protocol]);
    return [this.nextFd++, this.nextFd++];
  }
  bind(fd: number, addr: Buffer): void { this.record('bind', [fd, addr]); }
  setsockopt(fd: number, level: number, name: number, value: Buffer): void { this.record('setsockopt', [fd, level, name, value]); }
  sendto(fd: number, buf: Buffer, flags: number, addr: Buffer | null): number { this.record('sendto', [fd, buf, flags, addr]); return buf.length; }
  /** Scripted answers for recvfrom, in order (a stage's replies); with none left a recv returns 0 bytes (EOF). */
  readonly recvQueue: Buffer[] = [];
  recvfrom(fd: number, buf: Buffer, flags: number): number {
    this.record('recvfrom', [fd, buf, flags]);
    const next = this.recvQueue.shift();
    if (!next) return 0;
    next.copy(buf);
    if (next.length > buf.length) this.recvQueue.unshift(next.subarray(buf.length));
    return Math.min(next.length, buf.length);
  }
}
