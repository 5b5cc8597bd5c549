import { familyOf } from '../../rtnetlink/ip.js';
import { parseCniArgs } from '../cni-args.js';
import { configError } from '../errors.js';
import type { Route } from '../../cni/result/types.js';
import { canonicalizeRange, describeRange, rangesOverlap, type Range, type RangeConf } from './range.js';

// host-local's config: "ranges" (a list of range sets), or the legacy
// top-level subnet/rangeStart/rangeEnd/gateway; IPs asked for through CNI_ARGS
// IP=, args.cni.ips or runtimeConfig.ips.

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface HostLocalConf {
  network: string;
  dataDir: string;
  rangeSets: Range[][];
  routes: Route[];
  resolvConf?: string;
  requestedIPs: string[];
}

interface IpamRaw extends RangeConf {
  ranges?: RangeConf[][];
  routes?: Route[];
  dataDir?: string;
  resolvConf?: string;
}

export function loadHostLocalConf(conf: Record<string, unknown>, cniArgs: string): HostLocalConf {
  const ipam = conf.ipam as IpamRaw | undefined;
  if (!ipam || typeof ipam !== 'object') throw configError('IPAM config missing \'ipam\' key');
  const rawSets: RangeConf[][] = [];
  if (ipam.subnet) rawSets.push([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  rawSets.push(...(ipam.ranges ?? []));
  if (rawSets.length === 0) throw configError('no IP ranges specified');
  const rangeSets = rawSets.map(canonicalizeSet);
  for (let i = 0; i < rangeSets.length; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSets[i]!.some((a) => rangeSets[j]!.some((b) => rangesOverlap(a, b)))) throw configError(`range set ${i} overlaps with ${j}`);
    }
  }
  return {
    network: String(conf.name ?? ''),
    dataDir: ipam.dataDir || DEFAULT_DATA_DIR,
    rangeSets,
    routes: ipam.routes ?? [],
    resolvConf: ipam.resolvConf,
    requestedIPs: requestedIPs(conf, cniArgs),
  };
}

function canonicalizeSet(set: RangeConf[]): Range[] {
  if (!Array.isArray(set) || set.length === 0) throw configError('empty range set');
  const ranges = set.map(canonicalizeRange);
  if (ranges.some((r) => r.family !== ranges[0]!.family)) throw configError('mixed address families');
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangesOverlap(ranges[i]!, ranges[j]!)) throw configError(`subnets ${ranges[i]!.subnet} and ${ranges[j]!.subnet} overlap`);
    }
  }
  return ranges;
}

function requestedIPs(conf: Record<string, unknown>, cniArgs: string): string[] {
  const out: string[] = [];
  const strip = (s: string): string => s.trim().split('/')[0]!;
  const check = (ip: string): string => {
    try {
      familyOf(ip);
    } catch {
      throw configError(`invalid IP "${ip}"`);
    }
    return ip;
  };
  const env = parseCniArgs(cniArgs, ['IP']);
  if (env.IP) out.push(...env.IP.split(',').map((s) => check(strip(s))));
  const argsIps = (conf.args as { cni?: { ips?: string[] } } | undefined)?.cni?.ips ?? [];
  out.push(...argsIps.map((s) => check(strip(s))));
  const rtIps = (conf.runtimeConfig as { ips?: string[] } | undefined)?.ips ?? [];
  out.push(...rtIps.map((s) => check(strip(s))));
  return out;
}

export const describeSet = (set: Range[]): string => set.map(describeRange).join(',');
