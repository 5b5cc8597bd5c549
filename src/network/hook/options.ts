import { TsrunError } from '../../errors.js';
import { parseFlags, list, str, type FlagSpec } from '../../cli/args.js';
import { DEFAULT_CACHE_DIR } from '../cni/cache.js';
import { DEFAULT_CONF_DIR } from '../cni/conf.js';
import { DEFAULT_CNI_PATH } from '../cni/exec.js';

// What `tsrun hook cni` is told on its command line, parsed in one place: the
// hook command, `tsrun run --net` (which writes these flags into the config's
// hooks) and `tsrun delete` (which reads them back) all agree on it.

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

export interface HookOptions {
  /** a network name from confDir, or "none" (loopback only) */
  network: string;
  confDir: string;
  cniPath: string[];
  cacheDir: string;
  ifName: string;
  publish: PortMapping[];
  /** "setup" / "teardown"; when absent the state's status decides */
  stage?: Stage;
}

export type Stage = 'setup' | 'teardown';

/** The flags, also used when `tsrun delete` reads a hook's args back. */
export const HOOK_FLAGS: FlagSpec[] = [
  { name: 'network', value: true },
  { name: 'conf-dir', value: true },
  { name: 'cni-path', value: true },
  { name: 'cache-dir', value: true },
  { name: 'ifname', value: true },
  { name: 'publish', short: 'p', value: true, repeat: true },
  { name: 'stage', value: true },
];

export const HOOK_USAGE =
  'tsrun hook cni --network NAME|none [--conf-dir D] [--cni-path P] [--cache-dir D] [--ifname eth0] ' +
  '[-p HOST:CONTAINER[/tcp|udp]]… [--stage setup|teardown]  (OCI state JSON on stdin)';

const splitPath = (s: string): string[] => s.split(':').filter(Boolean);

/** Flags after `hook cni`; the environment fills what the flags leave out (CNI_PATH, NETCONFPATH). */
export function parseHookArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): HookOptions {
  const p = parseFlags(argv, HOOK_FLAGS);
  if (p.positionals.length) throw new TsrunError('BAD_INPUT', `hook cni: unexpected argument "${p.positionals[0]}"`, { hint: `usage: ${HOOK_USAGE}` });
  const network = str(p, 'network');
  if (!network) throw new TsrunError('BAD_INPUT', 'hook cni: --network is required', { hint: `usage: ${HOOK_USAGE}` });
  const stage = str(p, 'stage');
  if (stage !== undefined && stage !== 'setup' && stage !== 'teardown') {
    throw new TsrunError('BAD_INPUT', `hook cni: --stage: expected setup or teardown, got "${stage}"`);
  }
  const cniPath = str(p, 'cni-path') ?? env.CNI_PATH;
  return {
    network,
    confDir: str(p, 'conf-dir') ?? env.NETCONFPATH ?? DEFAULT_CONF_DIR,
    cniPath: cniPath ? splitPath(cniPath) : DEFAULT_CNI_PATH,
    cacheDir: str(p, 'cache-dir') ?? DEFAULT_CACHE_DIR,
    ifName: str(p, 'ifname') ?? 'eth0',
    publish: list(p, 'publish').map(parsePublish),
    stage,
  };
}

/** The flags that reproduce `o` (what `tsrun run --net` writes into the hook's args). */
export function hookArgs(o: HookOptions): string[] {
  const out = ['--network', o.network, '--conf-dir', o.confDir, '--cni-path', o.cniPath.join(':'), '--cache-dir', o.cacheDir, '--ifname', o.ifName];
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
