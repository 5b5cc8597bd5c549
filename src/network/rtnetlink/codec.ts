import { NLA_F_NESTED } from './constants.js';

// Netlink wire format: a 16-byte nlmsghdr, a fixed family header, then
// type-length-value attributes, each padded to 4 bytes.

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: raw bytes, or nested attributes (flagged NLA_F_NESTED when asked). */
export type Attr = { type: number; data: Buffer } | { type: number; nested: Attr[]; flagNested?: boolean };

export const u8 = (type: number, v: number): Attr => ({ type, data: Buffer.from([v]) });
export function u32(type: number, v: number): Attr {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(v >>> 0);
  return { type, data };
}
export const str = (type: number, s: string): Attr => ({ type, data: Buffer.from(`${s}\0`) });
export const bytes = (type: number, data: Buffer): Attr => ({ type, data });
export const nest = (type: number, nested: Attr[], flagNested = false): Attr => ({ type, nested, flagNested });

export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const body = 'data' in a ? a.data : encodeAttrs(a.nested);
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + body.length, 0);
    head.writeUInt16LE(a.type | ('nested' in a && a.flagNested ? NLA_F_NESTED : 0), 2);
    parts.push(head, body, Buffer.alloc(align4(body.length) - body.length));
  }
  return Buffer.concat(parts);
}

/** Attributes by type (the last one wins), with NLA_F_NESTED and byte-order flags masked off. */
export function decodeAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export const attrString = (b: Buffer | undefined): string | undefined => (b ? b.toString('utf8').replace(/\0.*$/s, '') : undefined);
export const attrU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** everything after the 16-byte header */
  payload: Buffer;
}

export function encodeMessage(type: number, flags: number, seq: number, header: Buffer, attrs: Attr[]): Buffer {
  const body = Buffer.concat([header, encodeAttrs(attrs)]);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]);
}

/** Splits a datagram into its messages. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), payload: buf.subarray(off + 16, off + len) });
    off += align4(len);
  }
  return out;
}

// Family headers.

export function ifinfomsg(family: number, index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

export function ifaddrmsg(family: number, prefixLen: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(flags, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export interface RtmsgFields {
  family: number;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

export function rtmsg(f: RtmsgFields): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.dstLen, 1);
  b.writeUInt8(f.table, 4);
  b.writeUInt8(f.protocol, 5);
  b.writeUInt8(f.scope, 6);
  b.writeUInt8(f.type, 7);
  return b;
}
