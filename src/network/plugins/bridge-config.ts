import type { Dns } from '../cni/result/types.js';
import { configError } from './errors.js';

// The bridge plugin's config, with the reference's defaults and checks.

export interface BridgeConf {
  name: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  mtu?: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  ipamType?: string;
  dns?: Dns;
}

export function loadBridgeConf(raw: Record<string, unknown>): BridgeConf {
  const bool = (k: string): boolean => raw[k] === true;
  if (raw.vlan !== undefined && raw.vlan !== 0) throw configError('bridge: "vlan" is not supported by the built-in bridge plugin');
  const ipam = raw.ipam as { type?: string } | undefined;
  const c: BridgeConf = {
    name: String(raw.name ?? ''),
    bridge: typeof raw.bridge === 'string' && raw.bridge ? raw.bridge : 'cni0',
    isGateway: bool('isGateway') || bool('isDefaultGateway'),
    isDefaultGateway: bool('isDefaultGateway'),
    forceAddress: bool('forceAddress'),
    ipMasq: bool('ipMasq'),
    mtu: typeof raw.mtu === 'number' && raw.mtu > 0 ? raw.mtu : undefined,
    hairpinMode: bool('hairpinMode'),
    promiscMode: bool('promiscMode'),
    ipamType: ipam?.type || undefined,
    dns: raw.dns as Dns | undefined,
  };
  if (c.bridge.length > 15) throw configError(`bridge name "${c.bridge}" is longer than 15 characters`);
  if (c.hairpinMode && c.promiscMode) throw configError('cannot set hairpin mode and promiscuous mode at the same time.');
  return c;
}

/** The reference replaces the IPAM DNS only when the config's has something in it. */
export const dnsSet = (d: Dns | undefined): d is Dns =>
  !!d && !!((d.nameservers?.length ?? 0) || d.domain || (d.search?.length ?? 0) || (d.options?.length ?? 0));
