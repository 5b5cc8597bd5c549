import { isIPv4, isIPv6 } from 'node:net';
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { TsrunError } from '../../errors.js';

// Addresses as netlink carries them (network-order bytes) and as CNI writes
// them ("10.0.0.2/24", canonical IPv6 text).

export interface Cidr {
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

/**
 * 4 or 6 for a valid address, 0 otherwise: what node:net's isIP says, faster.
 * Node's isIPv6 is one very large regular expression, ≈ 4 ms to its first
 * answer and ≈ 1 ms to each later one, paid by every DEL that lists a link's
 * addresses. The WHATWG URL parser checks the same RFC 4291 text in
 * microseconds; only an address with a zone ("fe80::1%eth0"), which a URL
 * cannot hold, goes to isIPv6.
 */
export function ipFamily(address: string): 0 | 4 | 6 {
  if (isIPv4(address)) return 4;
  if (address.includes('%')) return isIPv6(address) ? 6 : 0;
  // only hex digits, colons and dots: nothing that could end the URL's host early
  if (!address.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(address)) return 0;
  try {
    new URL(`http://[${address}]/`);
    return 6;
  } catch {
    return 0;
  }
}

export function familyOf(address: string): 4 | 6 {
  const family = ipFamily(address);
  if (family === 0) throw new TsrunError('BAD_INPUT', `invalid IP address "${address}"`);
  return family;
}

export function parseCidr(text: string): Cidr {
  const [address = '', len] = text.split('/');
  const family = familyOf(address);
  const prefixLen = len === undefined ? (family === 4 ? 32 : 128) : Number(len);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > (family === 4 ? 32 : 128)) {
    throw new TsrunError('BAD_INPUT', `invalid CIDR "${text}"`);
  }
  return { address: canonicalIp(address), prefixLen, family };
}

/** RFC 5952 text for IPv6 (what Go and iproute2 print); IPv4 unchanged. */
export function canonicalIp(address: string): string {
  return familyOf(address) === 4 ? address : new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The address as a number (ip-num): 32 bits for IPv4, 128 for IPv6 (IPv4-mapped "::ffff:a.b.c.d" included). */
export function ipToNumber(address: string): IPv4 | IPv6 {
  return familyOf(address) === 4 ? IPv4.fromString(address) : IPv6.fromString(address);
}

export function numberToIp(value: bigint, family: 4 | 6): string {
  return family === 4 ? new IPv4(value).toString() : canonicalIp(new IPv6(value).toString());
}

/** The block a CIDR is in (ip-num's range): "10.0.0.7/24" spans 10.0.0.0 to 10.0.0.255. */
export function cidrRange(c: Cidr): IPv4CidrRange | IPv6CidrRange {
  const text = `${c.address}/${c.prefixLen}`;
  return c.family === 4 ? IPv4CidrRange.fromCidr(text) : IPv6CidrRange.fromCidr(text);
}

/** The last address of a CIDR's block: for IPv4 its broadcast ("10.0.0.7/24" → "10.0.0.255"). */
export function lastAddress(cidr: string): string {
  const c = parseCidr(cidr);
  return numberToIp(cidrRange(c).getLast().getValue(), c.family);
}

/** Whether an address is inside a CIDR's block (never across families). */
export function cidrContains(cidr: string, address: string): boolean {
  const c = parseCidr(cidr);
  if (familyOf(address) !== c.family) return false;
  return cidrRange(c).contains(ipToNumber(address));
}

/** Network-order bytes: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(address: string): Buffer {
  const n = ipToNumber(address);
  const len = n instanceof IPv4 ? 4 : 16;
  return Buffer.from(n.getValue().toString(16).padStart(len * 2, '0'), 'hex');
}

export function bytesToIp(b: Buffer): string {
  return numberToIp(BigInt(`0x${b.toString('hex')}`), b.length === 4 ? 4 : 6);
}

export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
