import type { Syscalls } from './syscalls.js';
import { KoffiSyscalls } from './koffi.js';

// The process-wide real Syscalls. KoffiSyscalls loads koffi itself on its first
// FFI call, so commands that never touch the kernel that way (state, list,
// kill) never load it.
let real: Syscalls | undefined;

export async function realSyscalls(): Promise<Syscalls> {
  real ??= new KoffiSyscalls();
  return real;
}

export type { Syscalls, CapSets, FileStat } from './syscalls.js';
export { SyscallError } from './syscalls.js';
