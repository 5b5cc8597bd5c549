import { posix } from 'node:path';
import type { Syscalls } from './syscalls.js';
import { AT_FDCWD, CLONE, PR, RLIMIT } from './constants.js';
import { describeAt, describeMountAttr, describeMountFlags, describeOpenFlags, describeResolve } from './flag-names.js';
import { emit } from '../explain/events.js';

// A Syscalls that reports every call to an explain sink, then makes it on
// the real one. A Proxy, so a new method is traced without touching this file.

const CLONE_NAMES = Object.entries(CLONE).map(([k, v]) => [`CLONE_NEW${k.replace(/^NEW/, '')}`.replace('CLONE_NEWFS', 'CLONE_FS'), v] as const);

const RLIMIT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RLIMIT).map(([k, v]) => [v, k]));

const PRCTL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(PR).filter(([k]) => !k.startsWith('CAP_AMBIENT_')).map(([k, v]) => [v, `PR_${k}`]),
);

function cloneFlags(flags: number): string {
  return CLONE_NAMES.filter(([, v]) => (flags & v) === v).map(([k]) => k).join('|') || '0';
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')}}`;
  return String(v);
}

/** A directory fd as strace writes it. */
const dirFd = (fd: unknown): string => (fd === AT_FDCWD ? 'AT_FDCWD' : String(fd));

/** Data written: short text in full (a control file's value), else its size. */
function showData(data: unknown): string {
  const text = typeof data === 'string' ? data : undefined;
  return text !== undefined && text.length <= 80 ? JSON.stringify(text) : `<${Buffer.byteLength(data as string | Buffer)} bytes>`;
}

/** The call written the way a C programmer reads it, with flags in words. */
export function formatCall(name: string, args: unknown[]): string {
  switch (name) {
    case 'unshare':
      return `unshare(${cloneFlags(args[0] as number)})`;
    case 'setns':
      return `setns(${args[0]}, ${cloneFlags(args[1] as number)})`;
    case 'mount':
      return `mount(${show(args[0])}, ${show(args[1])}, ${show(args[2])}, ${describeMountFlags(args[3] as number)}, ${show(args[4])})`;
    case 'open':
      return `open(${show(args[0])}, ${describeOpenFlags(args[1] as number)}${args[2] ? `, 0${(args[2] as number).toString(8)}` : ''})`;
    case 'openat':
      return `openat(${dirFd(args[0])}, ${show(args[1])}, ${describeOpenFlags(args[2] as number)}${args[3] ? `, 0${(args[3] as number).toString(8)}` : ''})`;
    case 'openat2':
      return `openat2(${args[0]}, ${show(args[1])}, {flags: ${describeOpenFlags(args[2] as number)}${args[3] ? `, mode: 0${(args[3] as number).toString(8)}` : ''}, resolve: ${describeResolve(args[4] as number)}})`;
    case 'mkdirat':
      return `mkdirat(${dirFd(args[0])}, ${show(args[1])}, 0${(args[2] as number).toString(8)})`;
    case 'mknodat':
      return `mknodat(${args[0]}, ${show(args[1])}, 0${(args[2] as number).toString(8)}, ${show(args[3])})`;
    case 'unlinkat':
      return `unlinkat(${dirFd(args[0])}, ${show(args[1])}, ${describeAt(args[2] as number)})`;
    case 'renameat':
      return `renameat(${dirFd(args[0])}, ${show(args[1])}, ${dirFd(args[2])}, ${show(args[3])})`;
    case 'fchmodat':
      return `fchmodat(${dirFd(args[0])}, ${show(args[1])}, 0${(args[2] as number).toString(8)})`;
    case 'write':
      return `write(${args[0]}, ${showData(args[1])})`;
    case 'writeAsync':
      return `write(${args[0]}, ${showData(args[1])}) on a pool thread`;
    case 'fchownat':
      return `fchownat(${args[0]}, ${show(args[1])}, ${args[2]}, ${args[3]}, ${describeAt(args[4] as number)})`;
    case 'mountSetattr':
      return `mount_setattr(${args[0]}, ${show(args[1])}, ${describeAt(args[2] as number)}, {attr_set: ${describeMountAttr(args[3] as number)}, attr_clr: ${describeMountAttr(args[4] as number)}})`;
    case 'mknod':
    case 'mkfifo':
    case 'umask':
      return `${name}(${args.map((a, i) => (typeof a === 'number' && i < 2 ? `0${a.toString(8)}` : show(a))).join(', ')})`;
    case 'prctl':
    {
      const rest = args.slice(1).filter((a) => a !== undefined);
      while (rest.length > 1 && rest.at(-1) === 0) rest.pop();
      return `prctl(${[PRCTL_NAMES[args[0] as number] ?? args[0], ...rest.map(show)].join(', ')})`;
    }
    case 'resetSignal':
      return `signal(${args[0]}, SIG_DFL)`;
    case 'setrlimit':
    case 'getrlimit':
      return `${name}(${RLIMIT_NAMES[args[0] as number] ?? args[0]}${args.length > 1 ? `, {soft: ${show(args[1])}, hard: ${show(args[2])}}` : ''})`;
    case 'pivotRoot':
      return `pivot_root(${show(args[0])}, ${show(args[1])})`;
    case 'execve':
      return `execve(${show(args[0])}, ${show(args[1])}, <${(args[2] as string[]).length} env vars>)`;
    default:
      return `${name}(${args.map(show).join(', ')})`;
  }
}

/**
 * What each open fd was opened as, so a mount on "/proc/self/fd/N" reads
 * with the path it stands for: mount("proc", "/proc/self/fd/20" <rootfs/proc>, …).
 */
class FdNames {
  private names = new Map<number, string>();

  opened(name: string, args: unknown[], fd: unknown): void {
    if (typeof fd !== 'number') return;
    if (name === 'open') this.names.set(fd, String(args[0]));
    else if (name === 'openat' || name === 'openat2') {
      const path = String(args[1]);
      const dir = args[0] === AT_FDCWD ? process.cwd() : (this.names.get(args[0] as number) ?? `<fd ${args[0]}>`);
      this.names.set(fd, path.startsWith('/') && name === 'openat' ? path : posix.join(dir, path));
    }
  }

  closed(fd: unknown): void {
    this.names.delete(fd as number);
  }

  /** The call, with the path each fd it names stands for: mount("/proc/self/fd/20" <…>), write(7 <…>, …). */
  annotate(name: string, args: unknown[], call: string): string {
    if (name === 'write' || name === 'writeAsync') {
      const path = this.names.get(args[0] as number);
      if (path !== undefined) call = call.replace(/^(\w+\(\d+)/, `$1 <${path}>`);
    }
    return call.replace(/"\/proc\/self\/fd\/(\d+)"/g, (m, fd: string) => {
      const name = this.names.get(Number(fd));
      return name === undefined ? m : `${m} <${name}>`;
    });
  }
}

export function traceSyscalls(inner: Syscalls): Syscalls {
  const fds = new FdNames();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const name = String(prop);
      return (...args: unknown[]) => {
        const call = fds.annotate(name, args, formatCall(name, args));
        try {
          // execve does not return: report it before the call.
          if (name === 'execve') emit('syscall', call);
          const ret = (value as (...a: unknown[]) => unknown).apply(target, args);
          // A call on a pool thread is reported when it ends, with its result.
          if (ret instanceof Promise) {
            return ret.then(
              (v: unknown) => (emit('syscall', call), v),
              (err: unknown) => {
                emit('syscall', call, (err as { errno?: string }).errno ?? 'error');
                throw err;
              },
            );
          }
          if (name !== 'execve') emit('syscall', call);
          fds.opened(name, args, ret);
          if (name === 'close') fds.closed(args[0]);
          return ret;
        } catch (err) {
          emit('syscall', call, (err as { errno?: string }).errno ?? 'error');
          throw err;
        }
      };
    },
  });
}
