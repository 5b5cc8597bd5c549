import { TsrunError } from '../../errors.js';

// What the plugins need from rtnetlink, as an interface: a socket
// implementation (socket.ts) and an in-memory fake (fake.ts) for unit tests.
// Each Netlink belongs to one network namespace, the one it was opened in.

export interface LinkInfo {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "bridge", "veth", … (undefined for plain devices like lo) */
  kind?: string;
  mtu: number;
  flags: number;
  mac?: string;
  /** ifindex of the bridge this link is a port of */
  master?: number;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace) */
  peerIndex?: number;
  /** IFLA_LINK_NETNSID: the id (as this namespace numbers them) of the namespace the peer lives in */
  linkNetnsId?: number;
}

/** A bridge port as an AF_BRIDGE link dump shows it. */
export interface BridgePortInfo {
  index: number;
  name: string;
  /** ifindex of the bridge */
  master?: number;
  /** IFLA_BRPORT_MODE */
  hairpin: boolean;
}

export interface AddrInfo {
  index: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: number;
  /** IFA_F_* (IFA_FLAGS when present, else the header's 8 bits) */
  flags: number;
}

export interface RouteInfo {
  family: 4 | 6;
  /** "10.0.0.0/24"; "0.0.0.0/0" or "::/0" for a default route */
  dst: string;
  gateway?: string;
  oif?: number;
  table: number;
  scope: number;
  protocol: number;
  priority?: number;
}

export interface RouteSpec {
  dst: string;
  gateway?: string;
  oif?: number;
  /** RT_SCOPE_*; defaults to universe with a gateway, link without */
  scope?: number;
  src?: string;
  priority?: number;
  table?: number;
}

export interface VethPeer {
  name: string;
  /** path of the namespace the peer is created in (its fd goes in IFLA_NET_NS_FD) */
  netns?: string;
  mtu?: number;
  mac?: string;
}

export interface Netlink {
  links(): LinkInfo[];
  linkByName(name: string): LinkInfo | undefined;
  linkByIndex(index: number): LinkInfo | undefined;
  addBridge(name: string, opts?: { mtu?: number }): LinkInfo;
  /** Creates a veth pair here (`name`) with its peer possibly in another namespace; returns this side. */
  addVeth(name: string, peer: VethPeer, opts?: { mtu?: number; mac?: string }): LinkInfo;
  setUp(index: number, up: boolean): void;
  setMaster(index: number, master: number): void;
  setMtu(index: number, mtu: number): void;
  setPromisc(index: number, on: boolean): void;
  setMac(index: number, mac: string): void;
  /** bridge-port hairpin mode (IFLA_PROTINFO/IFLA_BRPORT_MODE) */
  setHairpin(index: number, on: boolean): void;
  delLink(index: number): void;
  addrs(family?: 4 | 6): AddrInfo[];
  addAddr(index: number, cidr: string, opts?: { noDad?: boolean }): void;
  delAddr(index: number, cidr: string): void;
  routes(family?: 4 | 6): RouteInfo[];
  /** The route the kernel would pick for `ip` (`ip route get`). */
  routeGet(ip: string): RouteInfo | undefined;
  addRoute(route: RouteSpec, opts?: { replace?: boolean }): void;
  delRoute(route: RouteSpec): void;
  /** Every bridge port of this namespace with its port options (`bridge -d link`). */
  bridgePorts(): BridgePortInfo[];
  /** The id this namespace gives the namespace at `netnsPath` (RTM_GETNSID); undefined when it has none. */
  nsidOf(netnsPath: string): number | undefined;
  close(): void;
}

/** Opens a Netlink in a namespace (a path like /run/netns/x), or in the caller's own when none is given. */
export interface NetlinkOpener {
  open(netnsPath?: string): Netlink;
}

/** A failed netlink request: names the request and object, keeps the errno name (EEXIST, ENODEV…). */
export class NetlinkError extends TsrunError {
  constructor(
    readonly request: string,
    readonly errnoCode: string,
    detail: string,
  ) {
    super('SYSCALL', `netlink ${request}: ${errnoCode}: ${detail}`, { errno: errnoCode });
    this.name = 'NetlinkError';
  }
}

export const isErrno = (err: unknown, ...codes: string[]): boolean =>
  err instanceof TsrunError && err.errno !== undefined && codes.includes(err.errno);
