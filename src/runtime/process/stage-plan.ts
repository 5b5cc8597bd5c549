import type { Hook, Process } from '../../spec/types.js';
import type { OciState } from '../../oci-hooks/outcome.js';
import { RLIMIT, RLIM_INFINITY } from '../../sys/constants.js';
import { capMasks, capWarnings } from '../capabilities.js';
import { TsrunError } from '../../errors.js';
import type { StageEntry } from './stage-channel.js';

// What the C stage applies from inside, as the "plan" frame's entries (keys
// listed in stage.c's header). Pure: the order and values are unit-tested.

export interface PlanInput {
  proc: Process;
  /** the binary found in the container, and the environment it gets */
  binary: string;
  env: string[];
  /** the filter as BPF (compiled by the CLI with libseccomp) and its seccomp(2) flags */
  seccomp?: { bpf: Buffer; flags: number };
  /** RLIMIT_NOFILE the caller had before Node raised it; `hard` is the current hard limit */
  callerNofile?: { soft: bigint; hard: bigint };
  lastCap: number;
  /** the runtime's own bounding set: capabilities outside it are skipped (default: all up to lastCap) */
  heldBounding?: bigint;
  /** create: exec.fifo's fd in the stage, the state and startContainer hooks run after it */
  fifoFd?: number;
  state?: OciState;
  startContainer?: Hook[];
  /** false in a user namespace whose setgroups is denied */
  setgroups?: boolean;
  warn?: (msg: string) => void;
}

const rlim = (n: number): bigint => (n >= 2 ** 64 - 1 ? RLIM_INFINITY : BigInt(n));

function rlimitEntries(proc: Process, callerNofile: PlanInput['callerNofile']): StageEntry[] {
  const out: StageEntry[] = [];
  const seen = new Set<string>();
  for (const [i, r] of (proc.rlimits ?? []).entries()) {
    const res = RLIMIT[r.type];
    if (res === undefined) {
      throw new TsrunError('SPEC_INVALID', `process.rlimits[${i}].type: unknown resource "${r.type}"`, { jsonPath: `process.rlimits[${i}].type` });
    }
    out.push(['rlimit', `${res} ${rlim(r.soft)} ${rlim(r.hard)}`]);
    seen.add(r.type);
  }
  // Node raised the NOFILE soft limit to the hard one; give the container what the caller had.
  if (!seen.has('RLIMIT_NOFILE') && callerNofile && callerNofile.soft <= callerNofile.hard) {
    out.push(['rlimit', `${RLIMIT.RLIMIT_NOFILE} ${callerNofile.soft} ${callerNofile.hard}`]);
  }
  return out;
}

export function stagePlan(i: PlanInput): StageEntry[] {
  const { proc } = i;
  const out: StageEntry[] = [...rlimitEntries(proc, i.callerNofile)];
  out.push(['umask', (proc.user.umask ?? 0o022).toString(8)]);
  if (i.seccomp) out.push(['seccomp', i.seccomp.bpf.toString('hex')], ['seccompflags', String(i.seccomp.flags)]);
  if (proc.capabilities) {
    const m = capMasks(proc.capabilities, i.lastCap, i.heldBounding);
    for (const w of capWarnings(m)) i.warn?.(w);
    const hex = (b: bigint): string => b.toString(16);
    out.push(['caps', `${hex(m.bounding)} ${hex(m.effective)} ${hex(m.permitted)} ${hex(m.inheritable)}`], ['lastcap', String(i.lastCap)]);
    for (const cap of m.ambient) out.push(['ambient', String(cap)]);
  }
  const gids = proc.user.additionalGids ?? [];
  if (gids.length || i.setgroups !== false) out.push(['groups', gids.join(' ')]);
  out.push(['user', `${proc.user.uid} ${proc.user.gid}`]);
  if (proc.noNewPrivileges) out.push(['nnp', '1']);
  out.push(['cwd', proc.cwd], ['path', i.binary]);
  for (const a of proc.args ?? []) out.push(['arg', a]);
  for (const e of i.env) out.push(['env', e]);
  if (i.fifoFd !== undefined) out.push(['fifo', String(i.fifoFd)]);
  if (i.state) out.push(['state', JSON.stringify(i.state)]);
  for (const h of i.startContainer ?? []) {
    out.push(['hook.path', h.path]);
    for (const a of h.args ?? []) out.push(['hook.arg', a]);
    for (const e of h.env ?? []) out.push(['hook.env', e]);
    if (h.timeout) out.push(['hook.timeout', String(h.timeout)]);
  }
  for (const [k, v] of out) {
    if (v.includes('\0')) throw new TsrunError('SPEC_INVALID', `a NUL byte in ${k} "${v.replace(/\0/g, '\\0')}"`);
  }
  return out;
}
