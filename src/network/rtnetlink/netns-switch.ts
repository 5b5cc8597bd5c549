import { TsrunError } from '../../errors.js';
import { CLONE, O } from '../../sys/constants.js';
import { SyscallError, type Syscalls } from '../../sys/syscalls.js';

// Runs a short synchronous function with the calling thread inside another
// network namespace, then switches back (pkg/ns Do, on Node's main thread).
// Synchronous on purpose: no other JavaScript can run while the thread is away,
// and things created meanwhile (netlink sockets, /proc/sys files opened) stay
// bound to the namespace they were created in after the switch back.

/** Opens a namespace handle; a missing path is NOT_FOUND (DEL treats that as "already gone"). */
export function openNetns(sys: Syscalls, path: string): number {
  try {
    return sys.open(path, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError && err.errno === 'ENOENT') {
      throw new TsrunError('NOT_FOUND', `network namespace ${path} does not exist`, { errno: 'ENOENT', cause: err });
    }
    throw err;
  }
}

export function inNetns<T>(sys: Syscalls, path: string, fn: () => T): T {
  const target = openNetns(sys, path);
  let home = -1;
  try {
    home = sys.open('/proc/thread-self/ns/net', O.RDONLY | O.CLOEXEC);
    sys.setns(target, CLONE.NEWNET);
  } catch (err) {
    if (home >= 0) sys.close(home);
    sys.close(target);
    throw err instanceof SyscallError && err.errno === 'EINVAL'
      ? new TsrunError('BAD_INPUT', `${path} is not a network namespace`, { cause: err })
      : err;
  }
  try {
    return fn();
  } finally {
    try {
      sys.setns(home, CLONE.NEWNET);
    } catch (err) {
      // The thread would go on in the container's namespace: nothing is safe after that.
      process.stderr.write(`tsrun: cannot return to the original network namespace: ${(err as Error).message}\n`);
      process.exit(70);
    }
    sys.close(home);
    sys.close(target);
  }
}
