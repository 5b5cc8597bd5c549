import { isIPv4, isIPv6 } from 'node:net';
import { TsrunError } from '../../errors.js';

// Addresses as netlink carries them (network-order bytes) and as CNI writes
// them ("10.0.0.2/24", canonical IPv6 text).

export interface Cidr {
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

export function familyOf(address: string): 4 | 6 {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  throw new TsrunError('BAD_INPUT', `invalid IP address "${address}"`);
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

/**
 * The address as a number: 32 bits for IPv4, 128 for IPv6 (IPv4-mapped
 * "::ffff:a.b.c.d" included). A few lines of BigInt instead of an address
 * library: every plugin process and `run --net` loads this module.
 */
export function ipToNumber(address: string): bigint {
  if (familyOf(address) === 4) return v4ToNumber(address);
  const [head = '', tail] = address.split('::');
  const groups = (part: string | undefined): bigint[] => {
    if (!part) return [];
    return part.split(':').flatMap((g) => (g.includes('.') ? [v4ToNumber(g) >> 16n, v4ToNumber(g) & 0xffffn] : [BigInt(`0x${g}`)]));
  };
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
  return all.reduce((n, g) => (n << 16n) | g, 0n);
}

const v4ToNumber = (a: string): bigint => a.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);

export function numberToIp(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':'));
}

/** Network-order bytes: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(address: string): Buffer {
  const len = familyOf(address) === 4 ? 4 : 16;
  return Buffer.from(ipToNumber(address).toString(16).padStart(len * 2, '0'), 'hex');
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
