import { TsrunError } from '../errors.js';

// Every kernel call tsrun makes goes through this interface: a koffi
// implementation for real use (koffi.ts), a recording fake for unit tests
// (fake.ts), and a tracing wrapper for --explain. Methods mirror the kernel
// call one for one; they throw SyscallError on failure and hold no logic.

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** What tsrun reads of a struct stat. */
export interface FileStat {
  /** st_mode: type (S_IF*) and permission bits */
  mode: number;
  uid: number;
  gid: number;
  /** st_rdev of a device node */
  rdev: bigint;
  /** st_size in bytes */
  size: number;
}

export interface Syscalls {
  // namespaces
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;

  // mounts and the root
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chroot(path: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  mknod(path: string, mode: number, dev: bigint): void;
  mkfifo(path: string, mode: number): void;
  umask(mask: number): number;
  /** statfs(2)'s f_flags (ST_RDONLY, ST_NOSUID, …) of the mount holding `path` */
  statfsFlags(path: string): number;
  /** mount_setattr(2) with one struct mount_attr: flags are AT_*, attributes MOUNT_ATTR_* */
  mountSetattr(dirFd: number, path: string, flags: number, attrSet: number, attrClr: number): void;
  /** open_tree(2): with OPEN_TREE_CLONE, a detached copy of the mount (tree) at path, as an fd */
  openTree(dirFd: number, path: string, flags: number): number;
  /** move_mount(2): attaches a (detached) mount where `toFd`/`toPath` names */
  moveMount(fromFd: number, fromPath: string, toFd: number, toPath: string, flags: number): void;

  // the file system relative to a directory fd (how the rootfs is set up: see common/in-root.ts)
  /** openat2(2): `resolve` is RESOLVE_*; ENOSYS on kernels before 5.6 */
  openat2(dirFd: number, path: string, flags: number, mode: number, resolve: number): number;
  openat(dirFd: number, path: string, flags: number, mode?: number): number;
  mkdirat(dirFd: number, path: string, mode: number): void;
  mknodat(dirFd: number, path: string, mode: number, dev: bigint): void;
  symlinkat(target: string, dirFd: number, path: string): void;
  /** readlinkat(2); an empty path reads the link an O_PATH|O_NOFOLLOW fd refers to */
  readlinkat(dirFd: number, path: string): string;
  fchownat(dirFd: number, path: string, uid: number, gid: number, flags: number): void;
  /** fstat(2), also of an O_PATH fd */
  fstat(fd: number): FileStat;
  /** unlinkat(2): AT_REMOVEDIR makes it rmdir */
  unlinkat(dirFd: number, path: string, flags: number): void;
  renameat(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string): void;
  fchmodat(dirFd: number, path: string, mode: number): void;
  /** write(2) of the whole of `data` in one call; returns the bytes written */
  write(fd: number, data: string | Buffer): number;
  /** write(2) of the whole of `data` on a pool thread, for a write the kernel may hold up while the main thread goes on */
  writeAsync(fd: number, data: string | Buffer): Promise<number>;

  // names
  sethostname(name: string): void;
  setdomainname(name: string): void;

  // credentials and capabilities
  prctl(option: number, arg2: number | bigint, arg3?: number | bigint, arg4?: number, arg5?: number): number;
  capget(): CapSets;
  capset(sets: CapSets): void;
  setgroups(gids: number[]): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  setresuid(ruid: number, euid: number, suid: number): void;

  // resources
  setrlimit(resource: number, soft: bigint, hard: bigint): void;
  getrlimit(resource: number): { soft: bigint; hard: bigint };

  // fds, signals and exec
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  fcntlSetCloexec(fd: number, cloexec: boolean): void;
  /** fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of `fd` at the lowest free number >= `min` */
  dupAbove(fd: number, min: number): number;
  closeRange(first: number, last: number, flags: number): void;
  /** Resets a signal's disposition to SIG_DFL (SIG_IGN survives execve). */
  resetSignal(signo: number): void;
  /** Unblocks every signal on the calling thread. */
  unblockAllSignals(): void;
  execve(path: string, argv: string[], envp: string[]): never;
  /**
   * posix_spawn(3) from the calling thread, so the child is born in that thread's
   * namespaces: the child's fd i is a copy of fds[i] (0–2 included), cwd "/",
   * every signal at its default and none blocked. Returns the child's pid.
   */
  spawn(path: string, argv: string[], envp: string[], fds: number[]): number;
  /** waitpid(2) with WNOHANG: the child's raw wait status once it has exited, undefined while it runs. */
  waitpidNoHang(pid: number): number | undefined;
  kill(pid: number, signal: number): void;
  /** flock(2): LOCK_SH=1, LOCK_EX=2, LOCK_NB=4, LOCK_UN=8 */
  flock(fd: number, operation: number): void;

  getpid(): number;
  gettid(): number;

  // terminals and unix sockets (console socket, SCM_RIGHTS)
  setsid(): number;
  dup3(oldFd: number, newFd: number, flags: number): void;
  /** arg by value (number) or by pointer (Buffer, filled in place) */
  ioctl(fd: number, request: number, arg: number | Buffer): number;
  connect(fd: number, addr: Buffer): void;
  listen(fd: number, backlog: number): void;
  accept(fd: number): number;
  /** sendmsg(2) with `fds` as one SCM_RIGHTS control message */
  sendmsgFds(fd: number, data: Buffer, fds: number[]): number;
  /** recvmsg(2): the data and any fds passed with SCM_RIGHTS */
  recvmsgFds(fd: number, maxData: number, maxFds: number): { data: Buffer; fds: number[] };

  // sockets (netlink): addresses are raw sockaddr bytes
  socket(domain: number, type: number, protocol: number): number;
  socketpair(domain: number, type: number, protocol: number): [number, number];
  bind(fd: number, addr: Buffer): void;
  setsockopt(fd: number, level: number, name: number, value: Buffer): void;
  /** Returns the bytes sent. */
  sendto(fd: number, buf: Buffer, flags: number, addr: Buffer | null): number;
  /** Fills `buf`; returns the message length (larger than buf with MSG_TRUNC). */
  recvfrom(fd: number, buf: Buffer, flags: number): number;
}

/** A failed kernel call: names the call, its main arguments and the errno. */
export class SyscallError extends TsrunError {
  readonly syscall: string;
  readonly errnoNumber: number;

  constructor(syscall: string, args: string, errno: number, errnoName: string, detail: string) {
    super('SYSCALL', `${syscall}(${args}): ${errnoName}: ${detail}`, { errno: errnoName });
    this.name = 'SyscallError';
    this.syscall = syscall;
    this.errnoNumber = errno;
  }
}

/** The errno name ("ENOENT") of a failed door call; undefined for any other error. */
export const errnoOf = (err: unknown): string | undefined => (err instanceof SyscallError ? err.errno : undefined);
