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

export function ipToBytes(address: string): Buffer {
  if (familyOf(address) === 4) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail] = address.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function bytesToIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return canonicalIp(groups.join(':'));
}

export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
