import { readFileSync } from 'node:fs';
import type { Process } from '../../spec/types.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { PR, RLIMIT, RLIM_INFINITY } from '../../sys/constants.js';
import { ALL_CAPABILITIES, capMasks, capWarnings, heldBounding, lastCap } from '../capabilities.js';
import { TsrunError } from '../../errors.js';
import { because } from '../../explain/events.js';

// The last steps before execve, in the order runc uses. capset, the bounding
// drop and no_new_privs are per-thread: this must run on the thread that execs.

function toRlim(n: number): bigint {
  // JSON cannot hold 2^64-1 exactly; anything that large means "unlimited".
  return n >= 2 ** 64 - 1 ? RLIM_INFINITY : BigInt(n);
}

export function applyRlimits(sys: Syscalls, proc: Process, callerNofile?: { soft: string; hard: string }): void {
  const configured = new Set<string>();
  for (const [i, r] of (proc.rlimits ?? []).entries()) {
    const res = RLIMIT[r.type];
    if (res === undefined) throw new TsrunError('SPEC_INVALID', `process.rlimits: unknown resource ${r.type}`, { jsonPath: 'process.rlimits' });
    because(`process.rlimits[${i}] {type: ${r.type}}`, () => sys.setrlimit(res, toRlim(r.soft), toRlim(r.hard)));
    configured.add(r.type);
  }
  // Node raised the NOFILE soft limit to the hard one; give the container what the caller had.
  if (!configured.has('RLIMIT_NOFILE') && callerNofile) {
    const parse = (v: string): bigint => (v === 'unlimited' ? RLIM_INFINITY : BigInt(v));
    because('no process.rlimits for RLIMIT_NOFILE: give back the soft limit the caller had (Node raised it)', () => {
      const cur = sys.getrlimit(RLIMIT.RLIMIT_NOFILE!);
      const soft = parse(callerNofile.soft);
      if (soft <= cur.hard) sys.setrlimit(RLIMIT.RLIMIT_NOFILE!, soft, cur.hard);
    });
  }
}

/** Drops the bounding set, switches uid/gid keeping caps, then sets the four other sets. */
export function applyUserAndCaps(sys: Syscalls, proc: Process, warn: (msg: string) => void, debug?: (msg: string) => void): void {
  const user = proc.user;
  const caps = proc.capabilities;
  const masks = caps ? capMasks(caps, lastCap(), heldBounding()) : undefined;
  if (masks) capWarnings(masks).forEach(warn);

  if (masks) {
    because('process.capabilities.bounding: drop every capability not listed', () => {
      const last = lastCap();
      for (let cap = 0; cap <= last; cap++) {
        if (!((masks.bounding >> BigInt(cap)) & 1n)) sys.prctl(PR.CAPBSET_DROP, cap);
      }
    });
  }
  because('keep permitted capabilities across the uid change', () => sys.prctl(PR.SET_KEEPCAPS, 1));
  // In a user namespace whose setgroups is denied (rootless), setgroups always fails: skip it when there is nothing to set.
  if (user.additionalGids?.length || !setgroupsDenied()) because('process.user.additionalGids', () => sys.setgroups(user.additionalGids ?? []));
  because(`process.user {uid: ${user.uid}, gid: ${user.gid}}`, () => {
    sys.setresgid(user.gid, user.gid, user.gid);
    sys.setresuid(user.uid, user.uid, user.uid);
  });
  because('the uid change is done: back to the normal capability rules', () => sys.prctl(PR.SET_KEEPCAPS, 0));
  if (masks) {
    because('process.capabilities.{effective,permitted,inheritable}', () =>
      sys.capset({ effective: masks.effective, permitted: masks.permitted, inheritable: masks.inheritable }),
    );
    because('process.capabilities.ambient', () => {
      sys.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL, 0);
      for (const cap of masks.ambient) {
        try {
          sys.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, cap);
        } catch (err) {
          // The kernel raises only permitted and inheritable caps: runc (and `runc spec`'s default) skips the others.
          const kept = ((masks.inheritable & masks.permitted) >> BigInt(cap)) & 1n;
          if ((err as { errno?: string }).errno !== 'EPERM' || kept) throw err;
          debug?.(`process.capabilities.ambient: ${ALL_CAPABILITIES[cap] ?? 'capability'} (capability ${cap}) not raised: it is not in the permitted and inheritable sets`);
        }
      }
    });
  }
}

function setgroupsDenied(): boolean {
  try {
    return readFileSync('/proc/self/setgroups', 'utf8').trim() === 'deny';
  } catch {
    return false;
  }
}

export function applyNoNewPrivileges(sys: Syscalls, proc: Process): void {
  if (proc.noNewPrivileges) because('process.noNewPrivileges', () => sys.prctl(PR.SET_NO_NEW_PRIVS, 1, 0));
}
