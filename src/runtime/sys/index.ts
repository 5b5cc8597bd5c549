import type { Syscalls } from './syscalls.js';

// The process-wide real Syscalls, loaded on first use so commands that never
// touch the kernel (state, list, spec) skip loading koffi.
let real: Syscalls | undefined;

export async function realSyscalls(): Promise<Syscalls> {
  if (!real) {
    const { KoffiSyscalls } = await import('./koffi.js');
    real = new KoffiSyscalls();
  }
  return real;
}

export type { Syscalls, CapSets, FileStat } from './syscalls.js';
export { SyscallError } from './syscalls.js';
