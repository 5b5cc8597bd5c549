import type { Syscalls } from './syscalls.js';
import { CLONE, MS, O, PR, RLIMIT } from './constants.js';
import { describeFlags } from '../rootfs/mount-options.js';
import { emit } from '../../explain/events.js';

// A Syscalls that reports every call to an explain sink, then makes it on
// the real one. A Proxy, so a new method is traced without touching this file.

const CLONE_NAMES = Object.entries(CLONE).map(([k, v]) => [`CLONE_NEW${k.replace(/^NEW/, '')}`.replace('CLONE_NEWFS', 'CLONE_FS'), v] as const);

const OPEN_FLAGS: [string, number][] = Object.entries(O).filter(([k]) => k !== 'RDONLY').map(([k, v]) => [`O_${k}`, v]);
function openFlags(flags: number): string {
  return ['O_RDONLY', ...OPEN_FLAGS.filter(([, v]) => (flags & v) === v).map(([k]) => k)].filter((k, i, all) => i > 0 || !all.some((x) => x === 'O_WRONLY' || x === 'O_RDWR')).join('|');
}

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

/** The call written the way a C programmer reads it, with flags in words. */
export function formatCall(name: string, args: unknown[]): string {
  switch (name) {
    case 'unshare':
      return `unshare(${cloneFlags(args[0] as number)})`;
    case 'setns':
      return `setns(${args[0]}, ${cloneFlags(args[1] as number)})`;
    case 'mount': {
      const flags = args[3] as number;
      const words = [describeFlags(flags), flags & MS.MOVE ? 'move' : ''].filter((w) => w && w !== '0');
      return `mount(${show(args[0])}, ${show(args[1])}, ${show(args[2])}, ${words.join(',') || '0'}, ${show(args[4])})`;
    }
    case 'open':
      return `open(${show(args[0])}, ${openFlags(args[1] as number)}${args[2] ? `, 0${(args[2] as number).toString(8)}` : ''})`;
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

export function traceSyscalls(inner: Syscalls): Syscalls {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const name = String(prop);
      return (...args: unknown[]) => {
        const call = formatCall(name, args);
        try {
          // execve does not return: report it before the call.
          if (name === 'execve') emit('syscall', call);
          const ret = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (name !== 'execve') emit('syscall', call);
          return ret;
        } catch (err) {
          emit('syscall', call, (err as { errno?: string }).errno ?? 'error');
          throw err;
        }
      };
    },
  });
}
