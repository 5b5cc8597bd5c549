import type { Syscalls } from '../sys/syscalls.js';
import { O } from '../sys/constants.js';

/**
 * `echo data > /proc/…` through the Syscalls door (so --explain shows it):
 * open, one write (the kernel parses each write of these files on its own), close.
 */
export function writeProcFile(sys: Syscalls, path: string, data: string): void {
  const fd = sys.open(path, O.WRONLY | O.CLOEXEC);
  try {
    sys.write(fd, data);
  } finally {
    sys.close(fd);
  }
}
