import { TsrunError } from '../../errors.js';
import { errnoText } from '../../sys/errno.js';
import { IFF, RT_SCOPE, RT_TABLE_MAIN, RTPROT } from './constants.js';
import { cidrContains, parseCidr } from './ip.js';
import { NetlinkError, type AddrInfo, type BridgePortInfo, type LinkInfo, type Netlink, type NetlinkOpener, type RouteInfo, type RouteSpec, type VethPeer } from './netlink.js';

// An in-memory rtnetlink for unit tests (netavark/youki style): namespaces
// keyed by path ("" is the caller's own), kernel-like errors (EEXIST, ENODEV,
// ESRCH), one ordered log of operations, and scripted failures.

export class FakeNamespace {
  links: LinkInfo[] = [{ index: 1, name: 'lo', mtu: 65536, flags: IFF.LOOPBACK }];
  addrs: AddrInfo[] = [];
  routes: RouteInfo[] = [];
  nextIndex = 2;
  /** ports with hairpin mode on */
  hairpin = new Set<number>();
  /** ids this namespace gives other namespaces (by path), assigned on first ask */
  nsids = new Map<string, number>();
}

interface Failure {
  op: string;
  errno: string;
  when?: (arg: unknown) => boolean;
}

export class FakeNetlinkOpener implements NetlinkOpener {
  readonly namespaces = new Map<string, FakeNamespace>([['', new FakeNamespace()]]);
  /** "ns:op arg" per mutating call, in order */
  readonly log: string[] = [];
  private failures: Failure[] = [];
  private macSeq = 1;

  addNamespace(path: string): FakeNamespace {
    const ns = new FakeNamespace();
    this.namespaces.set(path, ns);
    return ns;
  }
  ns(path = ''): FakeNamespace {
    const ns = this.namespaces.get(path);
    if (!ns) throw new TsrunError('NOT_FOUND', `network namespace ${path} does not exist`, { errno: 'ENOENT' });
    return ns;
  }
  /** The next call of `op` (matching `when`) fails with `errno`. */
  failOn(op: string, errno: string, when?: (arg: unknown) => boolean): this {
    this.failures.push({ op, errno, when });
    return this;
  }
  check(op: string, arg: unknown): void {
    const i = this.failures.findIndex((f) => f.op === op && (!f.when || f.when(arg)));
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw new NetlinkError(`${op} (scripted)`, f!.errno, errnoText(f!.errno));
    }
  }
  nextMac(): string {
    return `02:00:00:00:00:${(this.macSeq++).toString(16).padStart(2, '0')}`;
  }
  open(netnsPath = ''): Netlink {
    this.ns(netnsPath);
    return new FakeNetlink(this, netnsPath);
  }
}

const fail = (what: string, errno: string): never => {
  throw new NetlinkError(what, errno, errnoText(errno));
};

class FakeNetlink implements Netlink {
  private closed = false;
  constructor(
    private readonly world: FakeNetlinkOpener,
    private readonly path: string,
  ) {}
  /** Like a closed socket: any use after close() is EBADF. */
  private get ns(): FakeNamespace {
    if (this.closed) fail('use after close', 'EBADF');
    return this.world.ns(this.path);
  }
  private op(name: string, arg: unknown): void {
    this.world.check(name, arg);
    this.world.log.push(`${this.path || 'host'}:${name} ${typeof arg === 'string' ? arg : JSON.stringify(arg)}`);
  }
  private link(index: number): LinkInfo {
    return this.ns.links.find((l) => l.index === index) ?? fail(`link ${index}`, 'ENODEV');
  }
  private create(ns: FakeNamespace, name: string, kind: string, mtu?: number, mac?: string): LinkInfo {
    if (ns.links.some((l) => l.name === name)) fail(`add link "${name}"`, 'EEXIST');
    const l: LinkInfo = { index: ns.nextIndex++, name, kind, mtu: mtu ?? 1500, flags: 0, mac: mac ?? this.world.nextMac() };
    ns.links.push(l);
    return l;
  }

  links(): LinkInfo[] {
    return this.ns.links.map((l) => ({ ...l }));
  }
  linkByName(name: string): LinkInfo | undefined {
    return this.links().find((l) => l.name === name);
  }
  linkByIndex(index: number): LinkInfo | undefined {
    return this.links().find((l) => l.index === index);
  }
  addBridge(name: string, opts: { mtu?: number } = {}): LinkInfo {
    this.op('addBridge', name);
    return { ...this.create(this.ns, name, 'bridge', opts.mtu) };
  }
  addVeth(name: string, peer: VethPeer, opts: { mtu?: number; mac?: string } = {}): LinkInfo {
    this.op('addVeth', `${name}/${peer.name}`);
    const peerNs = this.world.ns(peer.netns ?? this.path);
    if (peerNs.links.some((l) => l.name === peer.name)) fail(`add veth peer "${peer.name}"`, 'EEXIST');
    const here = this.create(this.ns, name, 'veth', opts.mtu, opts.mac);
    const there = this.create(peerNs, peer.name, 'veth', peer.mtu, peer.mac);
    here.peerIndex = there.index;
    there.peerIndex = here.index;
    (here as LinkInfo & { peer?: [FakeNamespace, number] }).peer = [peerNs, there.index];
    (there as LinkInfo & { peer?: [FakeNamespace, number] }).peer = [this.ns, here.index];
    return { ...here };
  }
  setUp(index: number, up: boolean): void {
    this.op('setUp', `${this.link(index).name} ${up}`);
    const l = this.link(index);
    l.flags = up ? l.flags | IFF.UP : l.flags & ~IFF.UP;
  }
  setMaster(index: number, master: number): void {
    this.op('setMaster', `${this.link(index).name} ${master}`);
    if (master) this.link(master);
    this.link(index).master = master || undefined;
  }
  setMtu(index: number, mtu: number): void {
    this.op('setMtu', `${this.link(index).name} ${mtu}`);
    this.link(index).mtu = mtu;
  }
  setPromisc(index: number, on: boolean): void {
    this.op('setPromisc', `${this.link(index).name} ${on}`);
    const l = this.link(index);
    l.flags = on ? l.flags | IFF.PROMISC : l.flags & ~IFF.PROMISC;
  }
  setMac(index: number, mac: string): void {
    this.op('setMac', `${this.link(index).name} ${mac}`);
    this.link(index).mac = mac;
  }
  setHairpin(index: number, on: boolean): void {
    this.op('setHairpin', `${this.link(index).name} ${on}`);
    if (!this.link(index).master) fail(`hairpin ${index}`, 'EOPNOTSUPP');
    if (on) this.ns.hairpin.add(index);
    else this.ns.hairpin.delete(index);
  }
  delLink(index: number): void {
    const l = this.link(index);
    this.op('delLink', l.name);
    const drop = (ns: FakeNamespace, i: number): void => {
      ns.links = ns.links.filter((x) => x.index !== i);
      ns.addrs = ns.addrs.filter((a) => a.index !== i);
      ns.routes = ns.routes.filter((r) => r.oif !== i);
    };
    drop(this.ns, index);
    const peer = (l as LinkInfo & { peer?: [FakeNamespace, number] }).peer;
    if (peer) drop(peer[0], peer[1]);
  }
  addrs(family?: 4 | 6): AddrInfo[] {
    return this.ns.addrs.filter((a) => !family || a.family === family).map((a) => ({ ...a }));
  }
  addAddr(index: number, cidr: string): void {
    this.op('addAddr', `${this.link(index).name} ${cidr}`);
    const c = parseCidr(cidr);
    if (this.ns.addrs.some((a) => a.index === index && a.address === c.address)) fail(`add address ${cidr}`, 'EEXIST');
    this.ns.addrs.push({ index, family: c.family, address: c.address, prefixLen: c.prefixLen, scope: RT_SCOPE.UNIVERSE, flags: 0 });
  }
  delAddr(index: number, cidr: string): void {
    this.op('delAddr', `${this.link(index).name} ${cidr}`);
    const c = parseCidr(cidr);
    const before = this.ns.addrs.length;
    this.ns.addrs = this.ns.addrs.filter((a) => !(a.index === index && a.address === c.address));
    if (before === this.ns.addrs.length) fail(`delete address ${cidr}`, 'EADDRNOTAVAIL');
  }
  routes(family?: 4 | 6): RouteInfo[] {
    return this.ns.routes.filter((r) => !family || r.family === family).map((r) => ({ ...r }));
  }
  routeGet(ip: string): RouteInfo | undefined {
    const best = this.ns.routes.filter((r) => cidrContains(r.dst, ip)).sort((a, b) => parseCidr(b.dst).prefixLen - parseCidr(a.dst).prefixLen)[0];
    return best ? { ...best } : undefined;
  }
  addRoute(r: RouteSpec, opts: { replace?: boolean } = {}): void {
    this.op('addRoute', r);
    const c = parseCidr(r.dst);
    const dst = `${c.address}/${c.prefixLen}`;
    const table = r.table ?? RT_TABLE_MAIN;
    if (r.oif) this.link(r.oif);
    const same = (x: RouteInfo): boolean => x.dst === dst && x.table === table && (x.priority ?? 0) === (r.priority ?? 0);
    if (this.ns.routes.some(same)) {
      if (!opts.replace) fail(`add route ${r.dst}`, 'EEXIST');
      this.ns.routes = this.ns.routes.filter((x) => !same(x));
    }
    this.ns.routes.push({ family: c.family, dst, gateway: r.gateway, oif: r.oif, table, scope: r.scope ?? (r.gateway ? 0 : RT_SCOPE.LINK), protocol: RTPROT.BOOT, priority: r.priority });
  }
  delRoute(r: RouteSpec): void {
    this.op('delRoute', r);
    const c = parseCidr(r.dst);
    const i = this.ns.routes.findIndex((x) => x.dst === `${c.address}/${c.prefixLen}` && (!r.gateway || x.gateway === r.gateway) && (!r.oif || x.oif === r.oif));
    if (i < 0) fail(`delete route ${r.dst}`, 'ESRCH');
    this.ns.routes.splice(i, 1);
  }
  bridgePorts(): BridgePortInfo[] {
    const ns = this.ns;
    return ns.links.filter((l) => l.master).map((l) => ({ index: l.index, name: l.name, master: l.master, hairpin: ns.hairpin.has(l.index) }));
  }
  nsidOf(netnsPath: string): number | undefined {
    this.world.ns(netnsPath);
    const ns = this.ns;
    if (!ns.nsids.has(netnsPath)) ns.nsids.set(netnsPath, ns.nsids.size);
    return ns.nsids.get(netnsPath);
  }
  close(): void {
    this.closed = true;
  }
}
