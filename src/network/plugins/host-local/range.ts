import { cidrRange, familyOf, ipToNumber, numberToIp, parseCidr } from '../../rtnetlink/ip.js';
import { configError } from '../errors.js';

// One host-local range (subnet, rangeStart..rangeEnd, gateway), canonicalised
// the way the reference does: gateway defaults to .1, the range to .1 up to
// the last address (IPv4 skips the broadcast). Address and range math is
// ip-num's; a Range keeps the addresses' values (bigint) for comparisons.

export interface RangeConf {
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface Range {
  family: 4 | 6;
  subnet: string;
  prefixLen: number;
  network: bigint;
  start: bigint;
  end: bigint;
  gateway: bigint;
  /** whether the gateway was set in the config (the reference reports the default .1 too) */
  gatewaySet: boolean;
}

export const bits = (f: 4 | 6): number => (f === 4 ? 32 : 128);

export const ipToBig = (ip: string): bigint => ipToNumber(ip).getValue();

export const bigToIp = (n: bigint, family: 4 | 6): string => numberToIp(n, family);

/** The first and last address of the subnet an address and prefix length are in (ip-num's CIDR ranges). */
function bounds(address: string, prefixLen: number, family: 4 | 6): { first: bigint; last: bigint } {
  const r = cidrRange({ address, prefixLen, family });
  return { first: r.getFirst().getValue(), last: r.getLast().getValue() };
}

export function canonicalizeRange(rc: RangeConf): Range {
  if (!rc.subnet) throw configError('IPAM config missing \'subnet\' key');
  let cidr;
  try {
    cidr = parseCidr(rc.subnet);
  } catch {
    throw configError(`invalid CIDR address: ${rc.subnet}`);
  }
  const { family, prefixLen } = cidr;
  const subnet = `${cidr.address}/${prefixLen}`;
  if (prefixLen > bits(family) - 2) throw configError(`Network ${subnet} too small to allocate from`);
  const addr = ipToBig(cidr.address);
  const { first: network, last } = bounds(cidr.address, prefixLen, family);
  if (network !== addr) {
    throw configError(`Network has host bits set. For a subnet mask of length ${prefixLen} the network address is ${bigToIp(network, family)}`);
  }
  const r: Range = { family, subnet, prefixLen, network, start: network + 1n, end: family === 4 ? last - 1n : last, gateway: network + 1n, gatewaySet: !!rc.gateway };
  const inSubnet = (n: bigint): boolean => n >= network && n <= last;
  const parse = (key: 'gateway' | 'rangeStart' | 'rangeEnd'): bigint | undefined => {
    const v = rc[key];
    if (!v) return undefined;
    let f: 4 | 6;
    try {
      f = familyOf(v);
    } catch {
      throw configError(`invalid ${key} IP "${v}"`);
    }
    if (f !== family) throw configError(`${key} ${v} not in network ${subnet}`);
    return ipToBig(v);
  };
  r.gateway = parse('gateway') ?? r.gateway;
  const start = parse('rangeStart');
  if (start !== undefined) {
    if (!inSubnet(start)) throw configError(`RangeStart ${rc.rangeStart} not in network ${subnet}`);
    r.start = start;
  }
  const end = parse('rangeEnd');
  if (end !== undefined) {
    if (!inSubnet(end)) throw configError(`RangeEnd ${rc.rangeEnd} not in network ${subnet}`);
    r.end = end;
  }
  return r;
}

export const rangeContains = (r: Range, ip: bigint, family: 4 | 6): boolean => family === r.family && ip >= r.start && ip <= r.end;

export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.family !== b.family) return false;
  const last = (r: Range): bigint => bounds(bigToIp(r.network, r.family), r.prefixLen, r.family).last;
  return a.network <= last(b) && b.network <= last(a);
}

export const describeRange = (r: Range): string => `${bigToIp(r.start, r.family)}-${bigToIp(r.end, r.family)}`;

/** The network address of a CIDR as a BigInt ("10.0.0.7/24" → 10.0.0.0). */
export function networkBig(cidr: string): bigint {
  const a = parseCidr(cidr);
  return bounds(a.address, a.prefixLen, a.family).first;
}

/** "10.0.0.7/24" → "10.0.0.0/24". */
export function networkOf(cidr: string): string {
  const a = parseCidr(cidr);
  return `${bigToIp(networkBig(cidr), a.family)}/${a.prefixLen}`;
}
