import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { TsrunError } from '../../errors.js';
import { describeIssue } from '../../spec/issues.js';
import { SUPPORTED_VERSIONS, compareVersions, isSupportedVersion, type CniVersion } from './version.js';

// Network configuration: a .conflist (several plugins) or a single .conf/.json,
// found in a directory by network name the way libcni's LoadConfList does:
// conflists first, then single confs, each group sorted by file name.

export const DEFAULT_CONF_DIR = '/etc/cni/net.d';

/** One plugin's config object, kept whole: unknown keys go to the plugin untouched. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  name: string;
  cniVersion: CniVersion;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The file's bytes, as libcni caches them. */
  bytes: Buffer;
  file?: string;
}

// libcni accepts booleans and the strings "true"/"false" for these flags.
// zod/mini (as src/spec/): a fraction of full zod's load time.
const flag = z.optional(z.union([z.boolean(), z.pipe(z.enum(['true', 'false']), z.transform((s) => s === 'true'))], { error: 'expected a boolean or "true"/"false"' }));
const nameRegex = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const version = z.string().check(z.refine(isSupportedVersion, { message: `expected one of ${SUPPORTED_VERSIONS.join(', ')}` }));
const networkName = z.string().check(z.regex(nameRegex, 'network name must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'));

const pluginShape = {
  type: z.string().check(z.minLength(1, 'missing plugin type')),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
};
const pluginSchema = z.looseObject(pluginShape);

const listSchema = z.looseObject({
  cniVersion: z.optional(version),
  cniVersions: z.optional(z.array(z.string())),
  name: networkName,
  disableCheck: flag,
  disableGC: flag,
  plugins: z.array(pluginSchema).check(z.minLength(1, 'no plugins in list')),
});

const singleSchema = z.looseObject({ ...pluginShape, cniVersion: z.optional(version), name: networkName });

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new TsrunError('CNI_CONFIG', `${file}: invalid JSON: ${(err as Error).message}`, { file });
  }
}

function check<T>(schema: z.ZodMiniType<T>, raw: unknown, file: string): T {
  const r = z.safeParse(schema, raw, { error: describeIssue });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const jsonPath = issue.path.map(String).join('.');
  throw new TsrunError('CNI_CONFIG', `${file}: ${jsonPath || '(root)'}: ${issue.message}`, { file, jsonPath });
}

/** libcni ≥1.2: "cniVersions" lists acceptable versions; the highest one we speak wins. */
function pickVersion(explicit: string | undefined, candidates: string[] | undefined, file: string): CniVersion {
  const usable = (candidates ?? []).filter(isSupportedVersion).sort(compareVersions);
  const picked = usable.at(-1) ?? explicit;
  if (picked === undefined || !isSupportedVersion(picked)) {
    throw new TsrunError('CNI_CONFIG', `${file}: cniVersion: missing, and no supported version in cniVersions`, {
      file,
      jsonPath: 'cniVersion',
    });
  }
  return picked;
}

export function confListFromBytes(bytes: Buffer, file = '<bytes>'): NetworkConfigList {
  const raw = check(listSchema, parseJson(bytes, file), file);
  return {
    name: raw.name,
    cniVersion: pickVersion(raw.cniVersion, raw.cniVersions, file),
    disableCheck: raw.disableCheck ?? false,
    disableGC: raw.disableGC ?? false,
    plugins: (raw.plugins as PluginConf[]).map((p) => ({ ...p })),
    bytes,
    file,
  };
}

/** A single-plugin .conf becomes a list of one, as libcni's ConfListFromConf does. */
export function confListFromConfBytes(bytes: Buffer, file = '<bytes>'): NetworkConfigList {
  const raw = check(singleSchema, parseJson(bytes, file), file);
  const cniVersion = pickVersion(raw.cniVersion, undefined, file);
  return { name: raw.name, cniVersion, disableCheck: false, disableGC: false, plugins: [raw as PluginConf], bytes, file };
}

/** Files in `dir` with one of `extensions`, sorted by name; a missing dir is empty. */
export function confFiles(dir: string, extensions: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TsrunError('CNI_CONFIG', `read config dir ${dir}: ${(err as Error).message}`);
  }
  return names
    .filter((n) => extensions.some((e) => n.endsWith(e)))
    .sort()
    .map((n) => join(dir, n));
}

/** Reads a file's "name" without validating the rest, so one broken file does not hide the others. */
function nameOf(bytes: Buffer, file: string): unknown {
  const raw = parseJson(bytes, file);
  return typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
}

export function loadConfList(dir: string, name: string): NetworkConfigList {
  for (const file of confFiles(dir, ['.conflist'])) {
    const bytes = readFileSync(file);
    if (nameOf(bytes, file) === name) return confListFromBytes(bytes, file);
  }
  for (const file of confFiles(dir, ['.conf', '.json'])) {
    const bytes = readFileSync(file);
    if (nameOf(bytes, file) === name) return confListFromConfBytes(bytes, file);
  }
  throw new TsrunError('NOT_FOUND', `no net configuration with name "${name}" in ${dir}`, {
    hint: 'network names come from the "name" field of .conflist/.conf files',
  });
}
