import { errnoName, errnoText } from '../../sys/errno.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { AF, IFLA, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F, NLMSG, NLMSGERR_ATTR_MSG, RTM, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK } from './constants.js';
import { attrString, decodeAttrs, decodeMessages, encodeMessage, ifaddrmsg, ifinfomsg, rtmsg, str } from './codec.js';
import * as m from './messages.js';
import { inNetns, openNetns } from './netns-switch.js';
import { NetlinkError, type AddrInfo, type BridgePortInfo, type LinkInfo, type Netlink, type NetlinkOpener, type RouteInfo, type RouteSpec, type VethPeer } from './netlink.js';

// rtnetlink over a NETLINK_ROUTE socket, through the Syscalls seam. Requests
// are synchronous: the kernel answers rtnetlink requests inside sendto, so a
// blocking recv returns at once.

const RECV_SIZE = 1 << 16;

export class SocketNetlink implements Netlink {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = Buffer.alloc(RECV_SIZE);

  constructor(
    private readonly sys: Syscalls,
    private readonly fd: number,
  ) {}

  /** Sends one request with NLM_F_ACK and waits for its ack; a negative errno becomes a NetlinkError. */
  private request(type: number, flags: number, body: m.Body, what: string): void {
    this.exchange(type, NLM_F.REQUEST | NLM_F.ACK | flags, body, what);
  }

  private dump(type: number, header: Buffer): Buffer[] {
    return this.exchange(type, NLM_F.REQUEST | NLM_F.DUMP, { header, attrs: [] }, `dump ${type}`);
  }

  private exchange(type: number, flags: number, body: m.Body, what: string): Buffer[] {
    const seq = ++this.seq;
    this.sys.sendto(this.fd, encodeMessage(type, flags, seq, body.header, body.attrs), 0, kernelAddr());
    const out: Buffer[] = [];
    for (;;) {
      const n = this.sys.recvfrom(this.fd, this.buf, 0);
      if (n <= 0) throw new NetlinkError(what, 'EIO', 'no reply from the kernel');
      for (const msg of decodeMessages(this.buf.subarray(0, n))) {
        if (msg.seq !== seq) continue;
        if (msg.type === NLMSG.DONE) return out;
        if (msg.type === NLMSG.ERROR) {
          const err = -msg.payload.readInt32LE(0);
          if (err === 0) return out;
          throw errorFrom(what, err, msg.flags, msg.payload);
        }
        out.push(Buffer.from(msg.payload));
        if (!(msg.flags & NLM_F.MULTI)) return out;
      }
    }
  }

  links(): LinkInfo[] {
    return this.dump(RTM.GETLINK, ifinfomsg(AF.UNSPEC, 0)).map(m.parseLink);
  }
  /** One link by name or index: a single GETLINK, not a dump (hosts can have thousands of veths). */
  linkByName(name: string): LinkInfo | undefined {
    return this.getLink({ header: ifinfomsg(AF.UNSPEC, 0), attrs: [str(IFLA.IFNAME, name)] }, `get link "${name}"`);
  }
  linkByIndex(index: number): LinkInfo | undefined {
    return this.getLink({ header: ifinfomsg(AF.UNSPEC, index), attrs: [] }, `get link ${index}`);
  }
  private getLink(body: m.Body, what: string): LinkInfo | undefined {
    try {
      return this.exchange(RTM.GETLINK, NLM_F.REQUEST, body, what).map(m.parseLink)[0];
    } catch (err) {
      if (err instanceof NetlinkError && err.errnoCode === 'ENODEV') return undefined;
      throw err;
    }
  }
  addBridge(name: string, opts: { mtu?: number } = {}): LinkInfo {
    this.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, m.newBridge(name, opts.mtu), `add bridge "${name}"`);
    return this.mustFind(name);
  }
  addVeth(name: string, peer: VethPeer, opts: { mtu?: number; mac?: string } = {}): LinkInfo {
    const peerFd = peer.netns ? openNetns(this.sys, peer.netns) : undefined;
    try {
      this.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, m.newVeth(name, peer, peerFd, opts), `add veth "${name}" peer "${peer.name}"`);
    } finally {
      if (peerFd !== undefined) this.sys.close(peerFd);
    }
    return this.mustFind(name);
  }
  private mustFind(name: string): LinkInfo {
    const l = this.linkByName(name);
    if (!l) throw new NetlinkError(`get link "${name}"`, 'ENODEV', errnoText('ENODEV'));
    return l;
  }
  setUp(index: number, up: boolean): void {
    this.request(RTM.NEWLINK, 0, m.setUp(index, up), `set link ${index} ${up ? 'up' : 'down'}`);
  }
  setMaster(index: number, master: number): void {
    this.request(RTM.NEWLINK, 0, m.setMaster(index, master), `set link ${index} master ${master}`);
  }
  setMtu(index: number, mtu: number): void {
    this.request(RTM.NEWLINK, 0, m.setMtu(index, mtu), `set link ${index} mtu ${mtu}`);
  }
  setPromisc(index: number, on: boolean): void {
    this.request(RTM.NEWLINK, 0, m.setPromisc(index, on), `set link ${index} promisc ${on ? 'on' : 'off'}`);
  }
  setMac(index: number, mac: string): void {
    this.request(RTM.NEWLINK, 0, m.setAttrs(index, m.linkAttrs({ mac })), `set link ${index} address ${mac}`);
  }
  setHairpin(index: number, on: boolean): void {
    this.request(RTM.SETLINK, 0, m.setHairpin(index, on), `set bridge port ${index} hairpin ${on ? 'on' : 'off'}`);
  }
  delLink(index: number): void {
    this.request(RTM.DELLINK, 0, m.linkIndex(index), `delete link ${index}`);
  }
  addrs(family?: 4 | 6): AddrInfo[] {
    return this.dump(RTM.GETADDR, ifaddrmsg(m.familyHeader(family), 0, 0, 0, 0)).map(m.parseAddr);
  }
  addAddr(index: number, cidr: string, opts: { noDad?: boolean } = {}): void {
    this.request(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, m.addr(index, cidr, opts.noDad), `add address ${cidr} to link ${index}`);
  }
  delAddr(index: number, cidr: string): void {
    this.request(RTM.DELADDR, 0, m.addr(index, cidr), `delete address ${cidr} from link ${index}`);
  }
  routes(family?: 4 | 6): RouteInfo[] {
    const header = rtmsg({ family: m.familyHeader(family), dstLen: 0, table: 0, protocol: 0, scope: 0, type: 0 });
    return this.dump(RTM.GETROUTE, header).map(m.parseRoute);
  }
  routeGet(ip: string): RouteInfo | undefined {
    const body = m.routeGet(ip);
    try {
      return this.exchange(RTM.GETROUTE, NLM_F.REQUEST, body, `get route to ${ip}`).map(m.parseRoute)[0];
    } catch (err) {
      if (err instanceof NetlinkError && ['ENETUNREACH', 'EHOSTUNREACH'].includes(err.errnoCode)) return undefined;
      throw err;
    }
  }
  addRoute(r: RouteSpec, opts: { replace?: boolean } = {}): void {
    const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
    this.request(RTM.NEWROUTE, flags, m.route(r), `add route ${describeRoute(r)}`);
  }
  delRoute(r: RouteSpec): void {
    this.request(RTM.DELROUTE, 0, m.route(r, true), `delete route ${describeRoute(r)}`);
  }
  bridgePorts(): BridgePortInfo[] {
    return this.dump(RTM.GETLINK, ifinfomsg(AF.BRIDGE, 0)).map(m.parseBridgePort);
  }
  nsidOf(netnsPath: string): number | undefined {
    const fd = openNetns(this.sys, netnsPath);
    try {
      return this.exchange(RTM.GETNSID, NLM_F.REQUEST, m.getNsid(fd), `get nsid of ${netnsPath}`).map(m.parseNsid)[0];
    } finally {
      this.sys.close(fd);
    }
  }
  close(): void {
    this.sys.close(this.fd);
  }
}

const describeRoute = (r: RouteSpec): string => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.oif ? ` dev ${r.oif}` : ''}`;

function kernelAddr(): Buffer {
  const a = Buffer.alloc(12);
  a.writeUInt16LE(AF.NETLINK, 0);
  return a;
}

/** The kernel's reason (extended ack) is added to the errno text when it gave one. */
function errorFrom(what: string, errno: number, flags: number, p: Buffer): NetlinkError {
  const name = errnoName(errno);
  let detail = errnoText(name);
  if (flags & NLM_F.ACK_TLVS && p.length >= 20) {
    const origLen = flags & NLM_F.CAPPED ? 16 : p.readUInt32LE(4);
    const msg = attrString(decodeAttrs(p.subarray(4 + origLen)).get(NLMSGERR_ATTR_MSG));
    if (msg) detail += ` (${msg})`;
  }
  return new NetlinkError(what, name, detail);
}

function openSocket(sys: Syscalls): number {
  const fd = sys.socket(AF.NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  try {
    sys.bind(fd, kernelAddr()); // nl_pid 0: the kernel picks our port id
    const on = Buffer.alloc(4);
    on.writeInt32LE(1);
    sys.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, on);
  } catch (err) {
    sys.close(fd);
    throw err;
  }
  return fd;
}

/**
 * A netlink socket belongs to the namespace it was created in: to work in a
 * container's namespace, switch the thread in, create the socket, switch back,
 * and then use the socket from the host side.
 */
export class SocketNetlinkOpener implements NetlinkOpener {
  constructor(private readonly sys: Syscalls) {}
  open(netnsPath?: string): Netlink {
    const fd = netnsPath ? inNetns(this.sys, netnsPath, () => openSocket(this.sys)) : openSocket(this.sys);
    return new SocketNetlink(this.sys, fd);
  }
}
