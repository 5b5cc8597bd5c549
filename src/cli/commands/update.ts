import { existsSync, readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { expectArgs, str, type FlagSpec, type Parsed } from '../args.js';
import { makeContext } from '../context.js';
import { updateContainer } from '../../runtime/container/update.js';
import { parseSpec } from '../../spec/load.js';
import type { LinuxResources } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import { parseSize } from '../size.js';

// tsrun update: flags (or a linux.resources JSON with -r) → one library call.

type Kind = 'size' | 'int' | 'uint' | 'string';
/** flag → where it lands in linux.resources, and what its value is */
const FIELDS: [flag: string, group: 'memory' | 'cpu' | 'pids' | 'blockIO', field: string, kind: Kind, help: string][] = [
  ['memory', 'memory', 'limit', 'size', 'memory limit in bytes (suffixes k, m, g; -1 = unlimited)'],
  ['memory-swap', 'memory', 'swap', 'size', 'memory+swap limit (-1 = unlimited swap)'],
  ['memory-reservation', 'memory', 'reservation', 'size', 'memory soft limit'],
  ['kernel-memory', 'memory', 'kernel', 'size', 'kernel memory limit (accepted; ignored, as the kernel deprecated it)'],
  ['kernel-memory-tcp', 'memory', 'kernelTCP', 'size', 'kernel TCP buffer limit (accepted; ignored, as the kernel deprecated it)'],
  ['cpu-share', 'cpu', 'shares', 'uint', 'CPU shares (relative weight)'],
  ['cpu-period', 'cpu', 'period', 'uint', 'CFS period in µs (the quota stays)'],
  ['cpu-quota', 'cpu', 'quota', 'int', 'CFS quota in µs per period (-1 = no limit)'],
  ['cpu-rt-period', 'cpu', 'realtimePeriod', 'uint', 'real-time period in µs'],
  ['cpu-rt-runtime', 'cpu', 'realtimeRuntime', 'int', 'real-time runtime in µs per period'],
  ['cpuset-cpus', 'cpu', 'cpus', 'string', 'CPUs to run on (0-3,5)'],
  ['cpuset-mems', 'cpu', 'mems', 'string', 'memory nodes to use'],
  ['pids-limit', 'pids', 'limit', 'int', 'maximum number of processes (-1 = unlimited; 0 = unchanged)'],
  ['blkio-weight', 'blockIO', 'weight', 'uint', 'block I/O weight, 10 to 1000'],
];

const flags: FlagSpec[] = [
  { name: 'resources', short: 'r', value: 'FILE|-', help: 'linux.resources as JSON, from a file or stdin (-); the other flags are then ignored' },
  ...FIELDS.map(([name, , , kind, help]): FlagSpec => ({ name, value: kind === 'string' ? 'VALUE' : 'N', help })),
  { name: 'l3-cache-schema', value: 'SCHEMA', help: 'Intel RDT/CAT L3 cache schema (needs /sys/fs/resctrl)' },
  { name: 'mem-bw-schema', value: 'SCHEMA', help: 'Intel RDT/MBA memory bandwidth schema (needs /sys/fs/resctrl)' },
];

function value(flag: string, kind: Kind, text: string): number | string {
  if (kind === 'string') return text;
  if (kind === 'size') return text.trim() === '-1' ? -1 : parseSize(text, flag);
  if (!/^-?\d+$/.test(text.trim())) throw new TsrunError('BAD_INPUT', `invalid value for ${flag}: expected a whole number, got "${text}"`);
  const n = Number(text);
  if (kind === 'uint' && n < 0) throw new TsrunError('BAD_INPUT', `invalid value for ${flag}: expected 0 or more, got ${text}`);
  return n;
}

function fromFlags(p: Parsed): LinuxResources {
  const r: Record<string, Record<string, unknown>> = {};
  for (const [flag, group, field, kind] of FIELDS) {
    const text = str(p, flag);
    if (text !== undefined) (r[group] ??= {})[field] = value(flag, kind, text);
  }
  const weight = r.blockIO?.weight as number | undefined;
  if (weight !== undefined && weight !== 0 && (weight < 10 || weight > 1000)) {
    throw new TsrunError('BAD_INPUT', `invalid value for blkio-weight: expected 10 to 1000, got ${weight}`);
  }
  for (const flag of ['l3-cache-schema', 'mem-bw-schema']) {
    if (str(p, flag) !== undefined && !existsSync('/sys/fs/resctrl/schemata')) {
      throw new TsrunError('NOT_SUPPORTED', `--${flag}: Intel RDT is not available here (/sys/fs/resctrl is not mounted)`);
    }
    if (str(p, flag) !== undefined) throw new TsrunError('NOT_SUPPORTED', `--${flag}: tsrun does not manage Intel RDT groups`);
  }
  return r as LinuxResources;
}

function fromFile(file: string): LinuxResources {
  const name = file === '-' ? 'stdin' : file;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new TsrunError('SPEC_INVALID', `--resources ${name}: ${(err as Error).message}`, { file: name, cause: err });
  }
  // Validated as the linux.resources of a minimal config, so errors carry the JSON path.
  return parseSpec({ ociVersion: '1.2.0', root: { path: '/' }, linux: { resources: json } }, name).linux!.resources!;
}

export const command: Command = {
  args: 'ID',
  flags,
  async run(p, g, usage) {
    const [id] = expectArgs(p, ['ID'], usage);
    const file = str(p, 'resources');
    const delta = file !== undefined ? fromFile(file) : fromFlags(p);
    const nameOf = (jsonPath: string): string | undefined => {
      const rel = jsonPath.replace(/^linux\.resources\./, '');
      if (file !== undefined) return `${file === '-' ? 'stdin' : file}: ${rel}`;
      const hit = FIELDS.find(([, group, field]) => rel === `${group}.${field}`);
      return hit ? `--${hit[0]}` : undefined;
    };
    await updateContainer(await makeContext(g), id!, delta, nameOf);
    return 0;
  },
};
