import type { CacheEntry } from '../cni/cache.js';
import type { AttachmentView } from './model.js';

// What a libcni cache entry says about one attachment, read loosely: the
// entry may come from any CNI tool and any result version (0.2.0's ip4/ip6
// too), and a field that is missing or odd is left out rather than fatal.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

export interface CachedFacts {
  cniVersion?: string;
  /** the network's plugin objects in chain order */
  plugins: Obj[];
  cached: AttachmentView['cached'];
  portMappings: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
}

/** The cached config bytes: a conflist ("plugins") or a single network config. */
function pluginsOf(config: Buffer): { cniVersion?: string; plugins: Obj[] } {
  try {
    const j = JSON.parse(config.toString('utf8')) as unknown;
    if (!isObj(j)) return { plugins: [] };
    return { cniVersion: s(j.cniVersion), plugins: Array.isArray(j.plugins) ? arr(j.plugins) : [j] };
  } catch {
    return { plugins: [] };
  }
}

function resultOf(r: Obj | undefined): AttachmentView['cached'] {
  const out: AttachmentView['cached'] = { interfaces: [], ips: [], routes: [] };
  if (!r) return out;
  for (const i of arr(r.interfaces)) if (s(i.name)) out.interfaces.push({ name: s(i.name)!, mac: s(i.mac), sandbox: s(i.sandbox) || undefined });
  for (const ip of arr(r.ips)) if (s(ip.address)) out.ips.push({ address: s(ip.address)!, gateway: s(ip.gateway) });
  for (const old of [r.ip4, r.ip6].filter(isObj)) {
    if (s(old.ip)) out.ips.push({ address: s(old.ip)!, gateway: s(old.gateway) });
    for (const rt of arr(old.routes)) if (s(rt.dst)) out.routes.push({ dst: s(rt.dst)!, gw: s(rt.gw) });
  }
  for (const rt of arr(r.routes)) if (s(rt.dst)) out.routes.push({ dst: s(rt.dst)!, gw: s(rt.gw) });
  if (isObj(r.dns)) {
    const d = r.dns;
    const dns = { nameservers: strings(d.nameservers), search: strings(d.search), domain: s(d.domain), options: strings(d.options) };
    if (dns.nameservers?.length || dns.search?.length || dns.domain || dns.options?.length) out.dns = dns;
  }
  return out;
}

export function cachedFacts(e: CacheEntry): CachedFacts {
  const { cniVersion, plugins } = pluginsOf(e.config);
  const portMappings = arr(e.capabilityArgs?.portMappings).flatMap((m) => {
    const hostPort = Number(m.hostPort);
    const containerPort = Number(m.containerPort);
    if (!hostPort || !containerPort) return [];
    return [{ hostPort, containerPort, protocol: s(m.protocol)?.toLowerCase() || 'tcp', hostIP: s(m.hostIP) || undefined }];
  });
  return { cniVersion: cniVersion ?? s(e.result?.cniVersion), plugins, cached: resultOf(e.result), portMappings };
}

/** The bridge a bridge plugin in the chain names ("cni0" when it names none, as the reference defaults). */
export function bridgeNameOf(plugins: Obj[]): string | undefined {
  const b = plugins.find((p) => p.type === 'bridge');
  return b ? (s(b.bridge) ?? 'cni0') : undefined;
}

/** True when a bridge or ptp plugin of the chain asks for masquerading. */
export const wantsMasquerade = (plugins: Obj[]): boolean => plugins.some((p) => (p.type === 'bridge' || p.type === 'ptp') && p.ipMasq === true);

/** The iptables firewall plugin (not the firewalld backend) leaves rules naming the container's addresses. */
export const wantsFirewallRules = (plugins: Obj[]): boolean => plugins.some((p) => p.type === 'firewall' && (p.backend === undefined || p.backend === 'iptables'));
