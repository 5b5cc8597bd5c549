import { readFileSync } from 'node:fs';

// Capability names as the runtime-spec writes them, in kernel bit order.
const NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

export const ALL_CAPABILITIES: readonly string[] = NAMES.map((n) => `CAP_${n}`);

export function capNumber(name: string): number | undefined {
  const i = ALL_CAPABILITIES.indexOf(name.toUpperCase());
  return i < 0 ? undefined : i;
}

/** The highest capability this kernel knows. */
export function lastCap(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return ALL_CAPABILITIES.length - 1;
  }
}

/**
 * The bounding set this process holds (CapBnd): a process it starts can never
 * be given a capability outside it, whatever namespaces it enters.
 */
export function heldBounding(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  return parseStatusCaps(status, 'CapBnd');
}

export interface CapMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: number[];
  /** names Linux or this kernel does not know */
  unknown: string[];
  /** names this host cannot grant: outside the runtime's own bounding set */
  unavailable: string[];
}

/**
 * Turns the spec's name lists into bit masks. The runtime-spec: a capability
 * that cannot be mapped to the kernel or cannot be granted MUST be logged as a
 * warning and SHOULD NOT fail the container, so such names are skipped (and
 * reported in `unknown` / `unavailable` for the warning).
 */
export function capMasks(caps: {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}, last = lastCap(), held = (1n << BigInt(last + 1)) - 1n): CapMasks {
  const unknown = new Set<string>();
  const unavailable = new Set<string>();
  const nums = (list: string[] | undefined): number[] => {
    const out: number[] = [];
    for (const name of list ?? []) {
      const n = capNumber(name);
      if (n === undefined || n > last) unknown.add(name);
      else if (!((held >> BigInt(n)) & 1n)) unavailable.add(name);
      else out.push(n);
    }
    return out;
  };
  const mask = (list: string[] | undefined): bigint => nums(list).reduce((m, n) => m | (1n << BigInt(n)), 0n);
  return {
    bounding: mask(caps.bounding),
    effective: mask(caps.effective),
    permitted: mask(caps.permitted),
    inheritable: mask(caps.inheritable),
    ambient: nums(caps.ambient),
    unknown: [...unknown],
    unavailable: [...unavailable],
  };
}

/** The warnings for the names capMasks skipped (none when it skipped none). */
export function capWarnings(m: CapMasks): string[] {
  const out: string[] = [];
  if (m.unknown.length) out.push(`process.capabilities: ignoring unknown capabilities: ${m.unknown.join(', ')}`);
  if (m.unavailable.length) out.push(`process.capabilities: ignoring capabilities outside this host's bounding set: ${m.unavailable.join(', ')}`);
  return out;
}

/** Reads a mask from /proc/<pid>/status (CapEff, CapBnd, …). */
export function parseStatusCaps(status: string, field: 'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb'): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function maskToNames(mask: bigint): string[] {
  return ALL_CAPABILITIES.filter((_n, i) => (mask >> BigInt(i)) & 1n);
}
