import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { SyscallError, type Syscalls } from '../../sys/syscalls.js';
import { AT, AT_FDCWD } from '../../sys/constants.js';
import { because } from '../../explain/events.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM, TIOC, sockaddrUn, winsize } from '../terminal.js';

// `tsrun run` of a terminal container in the foreground: tsrun is its own
// console socket, receives the pty master and relays it to its stdio, like
// `runc run` does.

export class ConsoleServer {
  readonly path: string;
  private readonly dir: string;
  private readonly fd: number;

  constructor(private readonly sys: Syscalls) {
    this.dir = privateDir(sys);
    this.path = join(this.dir, 'console.sock');
    this.fd = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sys.bind(this.fd, sockaddrUn(this.path));
    sys.listen(this.fd, 1);
  }

  /** The init connected and sent before it reported ready, so this does not block for long. */
  receiveMaster(): number {
    const conn = this.sys.accept(this.fd);
    try {
      const { fds } = this.sys.recvmsgFds(conn, 256, 1);
      if (fds.length !== 1) throw new Error('console socket: no pty master received');
      return fds[0]!;
    } finally {
      this.sys.close(conn);
    }
  }

  close(): void {
    try {
      this.sys.close(this.fd);
    } finally {
      because('the console socket is no longer needed', () => {
        try {
          this.sys.unlinkat(AT_FDCWD, this.path, 0);
        } catch (err) {
          if (!(err instanceof SyscallError && err.errno === 'ENOENT')) throw err;
        }
        this.sys.unlinkat(AT_FDCWD, this.dir, AT.REMOVEDIR);
      });
    }
  }
}

/** Random hex from the kernel (node:crypto would load ~40 modules into every `run`). */
function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

/** mkdtemp through the door: a new 0700 directory with a random name in the temp dir. */
function privateDir(sys: Syscalls): string {
  for (let tries = 1; ; tries++) {
    const dir = join(tmpdir(), `tsrun-console-${randomHex(6)}`);
    try {
      sys.mkdirat(AT_FDCWD, dir, 0o700);
      return dir;
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === 'EEXIST' && tries < 10)) throw err;
    }
  }
}

/**
 * Copies stdin → pty and pty → stdout until the container side closes; forwards resizes.
 * stop() first lets what the process wrote before it exited reach stdout: the
 * pty reads EIO once no one holds its other side (bounded, for a daemon that keeps it).
 */
export function relayTerminal(sys: Syscalls, master: number): { stop(): Promise<void> } {
  const resize = (): void => {
    if (process.stdout.isTTY) sys.ioctl(master, TIOC.SWINSZ, winsize(process.stdout.rows, process.stdout.columns));
  };
  resize();
  const wasRaw = process.stdin.isTTY ? process.stdin.isRaw : false;
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  // node:tty (with net and the streams) only for a terminal: a plain `run` would load it for nothing
  const tty = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  const fromPty = new tty.ReadStream(master);
  fromPty.on('data', (d: Buffer) => process.stdout.write(d));
  fromPty.on('error', () => undefined); // EIO once the container side closes
  // The stream closes the master with itself: its number may be another file's after that.
  let closed = false;
  const drained = new Promise<void>((resolve) => fromPty.once('close', () => ((closed = true), resolve())));
  const toPty = (d: Buffer): void => {
    if (closed) return;
    try {
      writeSync(master, d);
    } catch {
      // the container is gone
    }
  };
  process.stdin.on('data', toPty);
  process.on('SIGWINCH', resize);
  return {
    async stop() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      process.off('SIGWINCH', resize);
      process.stdin.off('data', toPty);
      process.stdin.pause();
      if (process.stdin.isTTY) process.stdin.setRawMode(wasRaw);
      fromPty.destroy();
    },
  };
}
