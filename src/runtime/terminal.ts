import { chownSync, closeSync, existsSync, fchownSync, openSync } from 'node:fs';
import type { Syscalls } from '../sys/syscalls.js';
import { MS, O } from '../sys/constants.js';

// Pseudo-terminals for `process.terminal`: the init makes the pty inside the
// container's own devpts, sends the master to the console socket (SCM_RIGHTS,
// as conmon expects), and keeps the slave as its stdio and controlling tty.

export const TIOC = {
  GPTN: 0x80045430,
  SPTLCK: 0x40045431,
  SCTTY: 0x540e,
  SWINSZ: 0x5414,
} as const;

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;

export function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new Error(`socket path too long: ${path}`);
  addr.write(path, 2);
  return addr;
}

export function winsize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(rows, 0);
  b.writeUInt16LE(cols, 2);
  return b;
}

export interface Pty {
  master: number;
  slavePath: string;
}

export function openPty(sys: Syscalls, size?: { height: number; width: number }): Pty {
  const master = sys.open('/dev/ptmx', O.RDWR | O.NOCTTY | O.CLOEXEC);
  sys.ioctl(master, TIOC.SPTLCK, Buffer.alloc(4));
  const n = Buffer.alloc(4);
  sys.ioctl(master, TIOC.GPTN, n);
  if (size) sys.ioctl(master, TIOC.SWINSZ, winsize(size.height, size.width));
  return { master, slavePath: `/dev/pts/${n.readUInt32LE(0)}` };
}

/** A connected unix stream socket (close-on-exec); nothing is left open when connect fails. */
export function connectUnix(sys: Syscalls, socketPath: string): number {
  const sock = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  try {
    sys.connect(sock, sockaddrUn(socketPath));
  } catch (err) {
    sys.close(sock);
    throw err;
  }
  return sock;
}

/** Connected before pivot_root, while the host path is still reachable. */
export const connectConsoleSocket = connectUnix;

/**
 * Makes the pty, hands the master to the console socket, and becomes its session.
 * `bindConsole`: only the container's own process gets /dev/console; an exec
 * must not change the container's mounts (a bind to its pty would outlive it,
 * and the next exec's bind onto that dead node fails with ENOENT).
 */
export function setupTerminal(sys: Syscalls, sock: number, size: { height: number; width: number } | undefined, owner: { uid: number }, bindConsole = true): void {
  const pty = openPty(sys, size);
  try {
    sys.sendmsgFds(sock, Buffer.from('/dev/ptmx'), [pty.master]);
  } finally {
    sys.close(sock);
    sys.close(pty.master);
  }
  // The process's own terminal, as with runc (ids as seen in the container's user namespace).
  chownSync(pty.slavePath, owner.uid, -1);
  useSlaveAsStdio(sys, pty.slavePath, bindConsole);
}

/**
 * New session, the slave as controlling terminal and as fds 0–2, and
 * /dev/console bound to it (inside the container's /dev, never the host's).
 */
export function useSlaveAsStdio(sys: Syscalls, slavePath: string, bindConsole = true): void {
  sys.setsid();
  const slave = sys.open(slavePath, O.RDWR | O.CLOEXEC);
  sys.ioctl(slave, TIOC.SCTTY, 0);
  for (const fd of [0, 1, 2]) sys.dup3(slave, fd, 0);
  sys.close(slave);
  if (!bindConsole) return;
  if (existsSync('/dev') && !existsSync('/dev/console')) closeSync(openSync('/dev/console', 'a', 0o600));
  if (existsSync('/dev/console')) sys.mount(slavePath, '/dev/console', null, MS.BIND, null);
}

/**
 * The CLI's main thread, inside the container (after pivot_root): makes the
 * pty, sends the master to the console socket, and returns the slave for the
 * stage to make its stdio and controlling terminal. The slave belongs to the
 * process's uid (its group stays devpts's), as with runc; /dev/console is bound to it for `create`.
 */
export function containerTerminal(sys: Syscalls, sock: number, size: { height: number; width: number } | undefined, owner: { uid: number }, bindConsole: boolean): number {
  const pty = openPty(sys, size);
  try {
    sys.sendmsgFds(sock, Buffer.from('/dev/ptmx'), [pty.master]);
  } finally {
    sys.close(pty.master);
  }
  const slave = sys.open(pty.slavePath, O.RDWR | O.NOCTTY | O.CLOEXEC);
  try {
    fchownSync(slave, owner.uid, -1);
    if (bindConsole) {
      if (existsSync('/dev') && !existsSync('/dev/console')) closeSync(openSync('/dev/console', 'a', 0o600));
      if (existsSync('/dev/console')) sys.mount(pty.slavePath, '/dev/console', null, MS.BIND, null);
    }
  } catch (err) {
    sys.close(slave);
    throw err;
  }
  return slave;
}
