import { AF, IFA, IFA_F, IFF, IFLA, IFLA_BRPORT_MODE, IFLA_INFO, NETNSA, RTA, RT_SCOPE, RT_TABLE_MAIN, RTN_UNICAST, RTPROT, VETH_INFO_PEER } from './constants.js';
import { attrString, attrU32, bytes, decodeAttrs, encodeAttrs, ifaddrmsg, ifinfomsg, nest, rtmsg, str, u32, u8, type Attr } from './codec.js';
import { bytesToIp, bytesToMac, ipToBytes, lastAddress, macToBytes, parseCidr } from './ip.js';
import type { AddrInfo, BridgePortInfo, LinkInfo, RouteInfo, RouteSpec, VethPeer } from './netlink.js';

// Request bodies (family header + attributes) and reply parsers. Pure, so the
// wire format is unit-tested without a kernel.

export interface Body {
  header: Buffer;
  attrs: Attr[];
}

const afOf = (f: 4 | 6): number => (f === 4 ? AF.INET : AF.INET6);

export function linkAttrs(o: { name?: string; mtu?: number; mac?: string; netnsFd?: number }): Attr[] {
  const a: Attr[] = [];
  if (o.name !== undefined) a.push(str(IFLA.IFNAME, o.name));
  if (o.mtu) a.push(u32(IFLA.MTU, o.mtu));
  if (o.mac) a.push(bytes(IFLA.ADDRESS, macToBytes(o.mac)));
  if (o.netnsFd !== undefined) a.push(u32(IFLA.NET_NS_FD, o.netnsFd));
  return a;
}

export function newBridge(name: string, mtu?: number): Body {
  return { header: ifinfomsg(AF.UNSPEC, 0), attrs: [...linkAttrs({ name, mtu }), nest(IFLA.LINKINFO, [str(IFLA_INFO.KIND, 'bridge')])] };
}

/** A veth whose peer carries its own ifinfomsg and attributes inside VETH_INFO_PEER. */
export function newVeth(name: string, peer: VethPeer, peerNetnsFd: number | undefined, o: { mtu?: number; mac?: string }): Body {
  const peerBody = Buffer.concat([ifinfomsg(AF.UNSPEC, 0), encodePeer(peer, peerNetnsFd)]);
  const info = nest(IFLA.LINKINFO, [str(IFLA_INFO.KIND, 'veth'), nest(IFLA_INFO.DATA, [bytes(VETH_INFO_PEER, peerBody)])]);
  return { header: ifinfomsg(AF.UNSPEC, 0), attrs: [...linkAttrs({ name, mtu: o.mtu, mac: o.mac }), info] };
}

function encodePeer(peer: VethPeer, fd: number | undefined): Buffer {
  return encodeAttrs(linkAttrs({ name: peer.name, mtu: peer.mtu, mac: peer.mac, netnsFd: fd }));
}

/** Flags change: only the bits in `mask` are touched. */
export const setFlags = (index: number, flags: number, mask: number): Body => ({ header: ifinfomsg(AF.UNSPEC, index, flags, mask), attrs: [] });
export const setAttrs = (index: number, attrs: Attr[]): Body => ({ header: ifinfomsg(AF.UNSPEC, index), attrs });
export const setMaster = (index: number, master: number): Body => setAttrs(index, [u32(IFLA.MASTER, master)]);
export const setMtu = (index: number, mtu: number): Body => setAttrs(index, [u32(IFLA.MTU, mtu)]);
export const setUp = (index: number, up: boolean): Body => setFlags(index, up ? IFF.UP : 0, IFF.UP);
export const setPromisc = (index: number, on: boolean): Body => setFlags(index, on ? IFF.PROMISC : 0, IFF.PROMISC);
/** Bridge-port options go to the bridge family with a nested IFLA_PROTINFO. */
export const setHairpin = (index: number, on: boolean): Body => ({
  header: ifinfomsg(AF.BRIDGE, index),
  attrs: [nest(IFLA.PROTINFO, [u8(IFLA_BRPORT_MODE, on ? 1 : 0)], true)],
});
export const linkIndex = (index: number): Body => ({ header: ifinfomsg(AF.UNSPEC, index), attrs: [] });

export function addr(index: number, cidr: string, noDad = false): Body {
  const c = parseCidr(cidr);
  const raw = ipToBytes(c.address);
  const attrs = [bytes(IFA.LOCAL, raw), bytes(IFA.ADDRESS, raw)];
  // IPv4 below /31 gets the block's last address as broadcast (RFC 3021: a /31 or /32 has none), as `ip addr add … brd +`.
  if (c.family === 4 && c.prefixLen < 31) attrs.push(bytes(IFA.BROADCAST, ipToBytes(lastAddress(cidr))));
  return { header: ifaddrmsg(afOf(c.family), c.prefixLen, noDad ? IFA_F.NODAD : 0, RT_SCOPE.UNIVERSE, index), attrs };
}

/** A route request; for a delete, scope and protocol are wildcards unless given (RT_SCOPE_NOWHERE, 0). */
export function route(r: RouteSpec, forDelete = false): Body {
  const dst = parseCidr(r.dst);
  const attrs: Attr[] = [];
  if (dst.prefixLen > 0) attrs.push(bytes(RTA.DST, ipToBytes(dst.address)));
  if (r.gateway) attrs.push(bytes(RTA.GATEWAY, ipToBytes(r.gateway)));
  if (r.oif) attrs.push(u32(RTA.OIF, r.oif));
  if (r.src) attrs.push(bytes(RTA.PREFSRC, ipToBytes(r.src)));
  if (r.priority !== undefined) attrs.push(u32(RTA.PRIORITY, r.priority));
  const table = r.table ?? RT_TABLE_MAIN;
  if (table > 255) attrs.push(u32(RTA.TABLE, table));
  const scope = r.scope ?? (forDelete ? RT_SCOPE.NOWHERE : r.gateway ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK);
  return {
    header: rtmsg({ family: afOf(dst.family), dstLen: dst.prefixLen, table: Math.min(table, 255), protocol: forDelete ? 0 : RTPROT.BOOT, scope, type: RTN_UNICAST }),
    attrs,
  };
}

/** RTM_GETROUTE for one destination (not a dump). */
export function routeGet(ip: string): Body {
  const c = parseCidr(ip);
  return { header: rtmsg({ family: afOf(c.family), dstLen: c.family === 4 ? 32 : 128, table: 0, protocol: 0, scope: 0, type: 0 }), attrs: [bytes(RTA.DST, ipToBytes(c.address))] };
}

export function familyHeader(family?: 4 | 6): number {
  return family === undefined ? AF.UNSPEC : afOf(family);
}

// Parsers: payload = everything after nlmsghdr.

export function parseLink(p: Buffer): LinkInfo {
  const a = decodeAttrs(p.subarray(16));
  const info = a.get(IFLA.LINKINFO);
  const mac = a.get(IFLA.ADDRESS);
  return {
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
    name: attrString(a.get(IFLA.IFNAME)) ?? '',
    mtu: attrU32(a.get(IFLA.MTU)) ?? 0,
    mac: mac && mac.length === 6 ? bytesToMac(mac) : undefined,
    master: attrU32(a.get(IFLA.MASTER)),
    peerIndex: attrU32(a.get(IFLA.LINK)),
    kind: info ? attrString(decodeAttrs(info).get(IFLA_INFO.KIND)) : undefined,
    linkNetnsId: a.get(IFLA.LINK_NETNSID)?.readInt32LE(0),
  };
}

/** A link of an AF_BRIDGE dump: ports carry their options nested in IFLA_PROTINFO. */
export function parseBridgePort(p: Buffer): BridgePortInfo {
  const a = decodeAttrs(p.subarray(16));
  const prot = a.get(IFLA.PROTINFO);
  const mode = prot ? decodeAttrs(prot).get(IFLA_BRPORT_MODE) : undefined;
  return { index: p.readInt32LE(4), name: attrString(a.get(IFLA.IFNAME)) ?? '', master: attrU32(a.get(IFLA.MASTER)), hairpin: !!mode && mode.readUInt8(0) === 1 };
}

/** RTM_GETNSID: which id does this namespace give the namespace behind `fd`? (rtgenmsg header, 4 bytes aligned) */
export const getNsid = (fd: number): Body => ({ header: Buffer.alloc(4), attrs: [u32(NETNSA.FD, fd)] });

/** The id in an RTM_NEWNSID reply; -1 (NETNSA_NSID_NOT_ASSIGNED) becomes undefined. */
export function parseNsid(p: Buffer): number | undefined {
  const id = decodeAttrs(p.subarray(4)).get(NETNSA.NSID)?.readInt32LE(0);
  return id === undefined || id < 0 ? undefined : id;
}

export function parseAddr(p: Buffer): AddrInfo {
  const a = decodeAttrs(p.subarray(8));
  const raw = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS) ?? Buffer.alloc(4);
  const flags = attrU32(a.get(IFA.FLAGS)) ?? p.readUInt8(2);
  return { family: p.readUInt8(0) === AF.INET6 ? 6 : 4, prefixLen: p.readUInt8(1), scope: p.readUInt8(3), index: p.readUInt32LE(4), address: bytesToIp(raw), flags };
}

export function parseRoute(p: Buffer): RouteInfo {
  const family = p.readUInt8(0) === AF.INET6 ? 6 : 4;
  const a = decodeAttrs(p.subarray(12));
  const dst = a.get(RTA.DST);
  const gw = a.get(RTA.GATEWAY);
  return {
    family,
    dst: `${dst ? bytesToIp(dst) : family === 4 ? '0.0.0.0' : '::'}/${p.readUInt8(1)}`,
    gateway: gw ? bytesToIp(gw) : undefined,
    oif: attrU32(a.get(RTA.OIF)),
    table: attrU32(a.get(RTA.TABLE)) ?? p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    priority: attrU32(a.get(RTA.PRIORITY)),
  };
}
