import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import { TsrunError } from '../errors.js';
import { CLONE, LOCK, MNT_DETACH, MS, O } from '../sys/constants.js';
import { SyscallError, type Syscalls } from '../sys/syscalls.js';

// Named network namespaces as `ip netns` keeps them: an empty file under
// /run/netns with the namespace bind-mounted on it, /run/netns itself a
// shared mount point so the handle propagates to other mount namespaces.
// Done through syscalls, not by running `ip`.

export const NETNS_DIR = '/run/netns';

const nameRegex = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetnsStore {
  constructor(
    private readonly sys: Syscalls,
    readonly dir: string = NETNS_DIR,
  ) {}

  pathOf(name: string): string {
    if (!nameRegex.test(name) || name.length > 255) throw new TsrunError('BAD_INPUT', `invalid netns name "${name}"`);
    return join(this.dir, name);
  }

  /** Creates a new, empty network namespace and pins it at <dir>/<name>. */
  add(name: string): string {
    return this.pin(name, () => this.sys.unshare(CLONE.NEWNET));
  }

  /** Pins an existing namespace (e.g. /proc/<pid>/ns/net) at <dir>/<name>. */
  attach(name: string, nsPath: string): string {
    return this.pin(name, undefined, nsPath);
  }

  private pin(name: string, enterNew?: () => void, source = '/proc/thread-self/ns/net'): string {
    const target = this.pathOf(name);
    this.makeSharedDir();
    try {
      closeSync(openSync(target, 'wx', 0o000));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new TsrunError('EXISTS', `network namespace "${name}" already exists (${target})`);
      throw new TsrunError('SYSCALL', `create ${target}: ${(err as Error).message}`, { errno: code });
    }
    // unshare moves only this thread; go back afterwards so a long-lived caller
    // (a test runner, the hook) keeps working in its own namespace.
    const home = enterNew ? this.sys.open('/proc/thread-self/ns/net', O.RDONLY | O.CLOEXEC) : -1;
    try {
      enterNew?.();
      this.sys.mount(source, target, 'none', MS.BIND, null);
    } catch (err) {
      rmSync(target, { force: true });
      throw err;
    } finally {
      if (home >= 0) {
        this.sys.setns(home, CLONE.NEWNET);
        this.sys.close(home);
      }
    }
    return target;
  }

  /**
   * iproute2's trick: make <dir> a mount point (bind onto itself) and mark it
   * shared. Under an exclusive flock of the directory, as `ip netns add` takes:
   * two first-timers at once (tsrun and ip, or two tsruns) would otherwise
   * both see "not a mount point" and stack two bind mounts.
   */
  private makeSharedDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const lock = this.sys.open(this.dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    try {
      this.sys.flock(lock, LOCK.EX);
      try {
        this.sys.mount('', this.dir, 'none', MS.SHARED | MS.REC, null);
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === 'EINVAL')) throw err;
        this.sys.mount(this.dir, this.dir, 'none', MS.BIND | MS.REC, null);
        this.sys.mount('', this.dir, 'none', MS.SHARED | MS.REC, null);
      }
    } finally {
      this.sys.close(lock); // releases the lock
    }
  }

  /** Unmounts and removes the handle. `missingOk` makes a second delete a no-op. */
  delete(name: string, opts: { missingOk?: boolean } = {}): void {
    const target = this.pathOf(name);
    try {
      this.sys.umount2(target, MNT_DETACH);
    } catch (err) {
      const errno = err instanceof SyscallError ? err.errno : undefined;
      if (errno === 'ENOENT') {
        if (opts.missingOk) return;
        throw new TsrunError('NOT_FOUND', `network namespace "${name}" does not exist (${target})`);
      }
      // EINVAL: the file is there but nothing is mounted on it; remove it anyway
      if (errno !== 'EINVAL') throw err;
    }
    rmSync(target, { force: true });
  }

  list(): string[] {
    try {
      return readdirSync(this.dir).sort();
    } catch {
      return [];
    }
  }

  /**
   * Runs a command inside the namespace: setns on this thread, spawn (the child
   * inherits the thread's namespace), switch back, wait. Resolves with the exit
   * code, 128+signal when killed.
   */
  async exec(name: string, argv: string[]): Promise<number> {
    if (argv.length === 0) throw new TsrunError('BAD_INPUT', 'netns exec: no command given');
    const target = this.pathOf(name);
    const home = this.sys.open('/proc/thread-self/ns/net', O.RDONLY | O.CLOEXEC);
    let child;
    try {
      const fd = this.sys.open(target, O.RDONLY | O.CLOEXEC);
      try {
        this.sys.setns(fd, CLONE.NEWNET);
      } finally {
        this.sys.close(fd);
      }
      child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    } finally {
      this.sys.setns(home, CLONE.NEWNET);
      this.sys.close(home);
    }
    return new Promise((resolve, reject) => {
      child.on('error', (err) => reject(new TsrunError('NOT_FOUND', `exec ${argv[0]}: ${err.message}`)));
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.signals[signal] : 0)));
    });
  }
}
