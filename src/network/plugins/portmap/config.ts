import { familyOf, parseCidr } from '../../rtnetlink/ip.js';
import type { Result100 } from '../../cni/result/types.js';
import { configError } from '../errors.js';

// portmap's config: the portMappings capability, snat (hairpin and localhost
// masquerade, default on), the mark bit, and the container addresses from prevResult.

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface PortmapConf {
  name: string;
  mappings: PortMapping[];
  snat: boolean;
  markBit: number;
  setMarkChain: string;
  /** first IPv4 and IPv6 container addresses (CIDR) */
  container: Partial<Record<4 | 6, string>>;
}

export function loadPortmapConf(raw: Record<string, unknown>, prev: Result100 | undefined): PortmapConf {
  const rc = (raw.runtimeConfig as { portMappings?: Partial<PortMapping>[] } | undefined)?.portMappings ?? [];
  const mappings = rc.map((m) => {
    const hostPort = Number(m.hostPort);
    const containerPort = Number(m.containerPort);
    if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) throw configError(`Invalid host port number: ${m.hostPort}`);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw configError(`Invalid container port number: ${m.containerPort}`);
    if (m.hostIP) familyOf(m.hostIP);
    return { hostPort, containerPort, protocol: (m.protocol || 'tcp').toLowerCase(), ...(m.hostIP ? { hostIP: m.hostIP } : {}) };
  });
  const markBit = raw.markMasqBit === undefined ? 13 : Number(raw.markMasqBit);
  if (!Number.isInteger(markBit) || markBit < 0 || markBit > 31) throw configError(`MasqMarkBit must be between 0 and 31`);
  if (raw.externalSetMarkChain !== undefined && raw.markMasqBit !== undefined) throw configError('Cannot specify externalSetMarkChain and markMasqBit');
  if (raw.conditionsV4 !== undefined || raw.conditionsV6 !== undefined) throw configError('portmap: conditionsV4/conditionsV6 are not supported by the built-in plugin');
  const container: Partial<Record<4 | 6, string>> = {};
  for (const ip of prev?.ips ?? []) {
    const f = parseCidr(ip.address).family;
    container[f] ??= ip.address;
  }
  return {
    name: String(raw.name ?? ''),
    mappings,
    snat: raw.snat === undefined ? true : raw.snat === true,
    markBit,
    setMarkChain: typeof raw.externalSetMarkChain === 'string' ? raw.externalSetMarkChain : 'CNI-HOSTPORT-SETMARK',
    container,
  };
}
