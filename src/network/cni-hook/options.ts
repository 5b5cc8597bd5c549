import { TsrunError } from '../../errors.js';
import { DEFAULT_CACHE_DIR } from '../cni/cache.js';
import { DEFAULT_CONF_DIR } from '../cni/conf.js';
import { DEFAULT_CNI_PATH } from '../cni/exec.js';

// What `tsrun hook cni` is told on its command line, parsed in one place: the
// hook command and `tsrun delete` (reading back a hook in a config) agree on
// it. `tsrun run --net` takes the same network names in-process.

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

/** One network of a container and the interface it gets there. */
export interface NetworkRef {
  name: string;
  ifName: string;
}

export interface HookOptions {
  /** in order: eth0, eth1, … unless named; [{name: "none"}] means loopback only */
  networks: NetworkRef[];
  confDir: string;
  cniPath: string[];
  cacheDir: string;
  publish: PortMapping[];
  /** "setup" / "teardown"; when absent the state's status decides */
  stage?: Stage;
}

export type Stage = 'setup' | 'teardown';

/** The hook's flags as data (the CLI prints its usage from this table; the network half has its own parser). */
export const HOOK_FLAGS: { name: string; short?: string; value: string; repeat?: boolean }[] = [
  { name: 'network', value: 'NAME[:ifname=IF]|none', repeat: true },
  { name: 'conf-dir', value: 'DIR' },
  { name: 'cni-path', value: 'PATH' },
  { name: 'cache-dir', value: 'DIR' },
  { name: 'ifname', value: 'IF' },
  { name: 'publish', short: 'p', value: 'HOST:CONTAINER[/tcp|udp]', repeat: true },
  { name: 'stage', value: 'setup|teardown' },
];
const VALUE_FLAGS = new Set(HOOK_FLAGS.map((f) => f.name));
const REPEATED = new Set(HOOK_FLAGS.filter((f) => f.repeat).map((f) => f.name));

export const HOOK_USAGE =
  'tsrun hook cni --network NAME[:ifname=IF]|none [--network NAME2…] [--conf-dir D] [--cni-path P] [--cache-dir D] [--ifname IF] ' +
  '[-p HOST:CONTAINER[/tcp|udp]]… [--stage setup|teardown]  (OCI state JSON on stdin)';

const splitPath = (s: string): string[] => s.split(':').filter(Boolean);

/** `--flag value`, `--flag=value`, `-p value`: the hook's few flags, without the CLI's parser. */
function parseHookFlags(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^(?:--([a-z-]+)(?:=(.*))?|-(p))$/s.exec(a);
    const name = m ? (m[3] ? 'publish' : m[1]!) : undefined;
    if (!name || !VALUE_FLAGS.has(name)) throw new TsrunError('BAD_INPUT', `hook cni: unexpected argument "${a}"`, { hint: `usage: ${HOOK_USAGE}` });
    const value = m?.[2] ?? argv[++i];
    if (value === undefined) throw new TsrunError('BAD_INPUT', `hook cni: --${name} needs a value`, { hint: `usage: ${HOOK_USAGE}` });
    if (!REPEATED.has(name) && out.has(name)) throw new TsrunError('BAD_INPUT', `hook cni: --${name} given twice`);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

/**
 * `NAME[:ifname=IF]` entries in order → networks with interfaces: an entry's own
 * ifname, else `defaultFirst` for the first one, else eth<position>. `flag` names
 * the flag in errors (--net or --network).
 */
export function parseNetworks(entries: string[], flag: string, defaultFirst?: string): NetworkRef[] {
  const refs = entries.map((e, i): NetworkRef => {
    const [name = '', ...opts] = e.split(':');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new TsrunError('BAD_INPUT', `${flag} "${e}": expected NAME[:ifname=IF]`);
    let ifName = i === 0 && defaultFirst ? defaultFirst : `eth${i}`;
    for (const o of opts) {
      const m = /^ifname=([A-Za-z0-9_.-]{1,15})$/.exec(o);
      if (!m) throw new TsrunError('BAD_INPUT', `${flag} "${e}": unknown option "${o}" (expected ifname=IF, at most 15 characters)`);
      ifName = m[1]!;
    }
    return { name, ifName };
  });
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.ifName)) throw new TsrunError('BAD_INPUT', `${flag}: interface "${r.ifName}" is given to two networks`, { hint: 'name them with NAME:ifname=IF' });
    seen.add(r.ifName);
  }
  const names = refs.map((r) => r.name);
  if (names.includes('none') && refs.length > 1) throw new TsrunError('BAD_INPUT', `${flag} none cannot be combined with other networks`);
  if (new Set(names).size !== names.length) throw new TsrunError('BAD_INPUT', `${flag}: a network is given twice`);
  return refs;
}

/** Flags after `hook cni`; the environment fills what the flags leave out (CNI_PATH, NETCONFPATH). */
export function parseHookArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): HookOptions {
  const f = parseHookFlags(argv);
  const one = (name: string): string | undefined => f.get(name)?.[0];
  const names = f.get('network') ?? [];
  if (!names.length) throw new TsrunError('BAD_INPUT', 'hook cni: --network is required', { hint: `usage: ${HOOK_USAGE}` });
  const stage = one('stage');
  if (stage !== undefined && stage !== 'setup' && stage !== 'teardown') {
    throw new TsrunError('BAD_INPUT', `hook cni: --stage: expected setup or teardown, got "${stage}"`);
  }
  const cniPath = one('cni-path') ?? env.CNI_PATH;
  // --ifname (the older single-network flag) names the first network's interface.
  return {
    networks: parseNetworks(names, '--network', one('ifname')),
    confDir: one('conf-dir') ?? env.NETCONFPATH ?? DEFAULT_CONF_DIR,
    cniPath: cniPath ? splitPath(cniPath) : DEFAULT_CNI_PATH,
    cacheDir: one('cache-dir') ?? DEFAULT_CACHE_DIR,
    publish: (f.get('publish') ?? []).map(parsePublish),
    stage,
  };
}

/** The flags that reproduce `o`. */
export function hookArgs(o: HookOptions): string[] {
  const out = o.networks.flatMap((n) => ['--network', `${n.name}:ifname=${n.ifName}`]);
  out.push('--conf-dir', o.confDir, '--cni-path', o.cniPath.join(':'), '--cache-dir', o.cacheDir);
  for (const m of o.publish) out.push('-p', formatPublish(m));
  return out;
}

/** `HOST:CONTAINER[/tcp|udp]`, or `IP:HOST:CONTAINER[/proto]` (IPv4 host address). */
export function parsePublish(s: string): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(s);
  const port = (v: string | undefined): number | undefined => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
  };
  const hostPort = port(m?.[2]);
  const containerPort = port(m?.[3]);
  if (!m || hostPort === undefined || containerPort === undefined) {
    throw new TsrunError('BAD_INPUT', `--publish: expected HOST:CONTAINER[/tcp|udp] with ports 1-65535, got "${s}"`);
  }
  const mapping: PortMapping = { hostPort, containerPort, protocol: (m[4] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
  if (m[1]) mapping.hostIP = m[1];
  return mapping;
}

export function formatPublish(m: PortMapping): string {
  return `${m.hostIP ? `${m.hostIP}:` : ''}${m.hostPort}:${m.containerPort}/${m.protocol}`;
}

/** runtimeConfig capability args for the chain: portmap reads "portMappings". */
export function capabilityArgs(o: Pick<HookOptions, 'publish'>): Record<string, unknown> {
  return o.publish.length ? { portMappings: o.publish.map((m) => ({ ...m })) } : {};
}
