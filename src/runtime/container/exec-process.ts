import type { Process } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';

// The process an exec runs: either a full runtime-spec process object
// (--process FILE, as conmon passes it), or the container's own process with
// the command line's overrides, as runc builds it.

export interface ExecOverrides {
  processJson?: { file: string; text: string };
  args: string[];
  env: string[];
  cwd?: string;
  user?: string;
  additionalGids: string[];
  caps: string[];
  tty: boolean;
  noNewPrivs: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

/** Loads the spec schemas (zod/mini, ≈ 5 ms) only for a --process file: an exec built from flags is ours. */
async function parseProcessFile(file: string, text: string): Promise<Process> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TsrunError('SPEC_INVALID', `${file}: invalid JSON: ${(err as Error).message}`, { file });
  }
  const { processSchema } = await import('../../spec/schema/index.js');
  const r = processSchema.safeParse(json);
  if (r.success) return r.data;
  // Reuse the config.json error wording by validating it as the process of a minimal spec.
  const { parseSpec } = await import('../../spec/load.js');
  parseSpec({ ociVersion: '1.2.0', root: { path: '/' }, process: json }, file);
  throw new TsrunError('SPEC_INVALID', `${file}: not a valid process object`, { file });
}

function parseUser(user: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) throw new TsrunError('BAD_INPUT', `--user: expected UID[:GID] as numbers, got "${user}"`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

export async function execProcessFrom(base: Process | undefined, o: ExecOverrides): Promise<Process> {
  if (o.processJson) return parseProcessFile(o.processJson.file, o.processJson.text);
  if (!o.args.length) throw new TsrunError('BAD_INPUT', 'exec needs a command, or --process FILE');
  if (!base) throw new TsrunError('BAD_STATE', 'the container has no process to base the exec on; use --process');
  const user = o.user ? { ...base.user, ...parseUser(o.user) } : { ...base.user };
  if (o.additionalGids.length) user.additionalGids = o.additionalGids.map(Number);
  const caps = base.capabilities;
  const extra = o.caps.map((c) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`));
  return {
    ...base,
    args: o.args,
    terminal: o.tty,
    env: [...(base.env ?? []), ...o.env],
    cwd: o.cwd ?? base.cwd,
    user,
    noNewPrivileges: o.noNewPrivs || base.noNewPrivileges,
    apparmorProfile: o.apparmorProfile ?? base.apparmorProfile,
    selinuxLabel: o.selinuxLabel ?? base.selinuxLabel,
    capabilities: caps && extra.length
      ? {
          bounding: [...(caps.bounding ?? []), ...extra],
          effective: [...(caps.effective ?? []), ...extra],
          permitted: [...(caps.permitted ?? []), ...extra],
          inheritable: caps.inheritable,
          ambient: caps.ambient,
        }
      : caps,
  };
}
