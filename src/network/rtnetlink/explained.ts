import { emit } from '../../explain/events.js';
import type { AddrInfo, BridgePortInfo, LinkInfo, Netlink, NetlinkOpener, RouteInfo, RouteSpec, VethPeer } from './netlink.js';

// --explain for rtnetlink: each request a plugin makes, as one readable line
// ("RTM_NEWLINK veth "veth1a2b" peer "eth0" [peer netns /run/netns/x]") with
// its result, instead of a sendto of raw bytes. A wrapper over any Netlink (the
// socket one or the in-memory fake), put in place only while explaining.

const onOff = (on: boolean): string => (on ? 'on' : 'off');
const route = (r: RouteSpec): string =>
  [r.dst, r.gateway && `via ${r.gateway}`, r.oif !== undefined && `dev ${r.oif}`, r.src && `src ${r.src}`, r.scope !== undefined && `scope ${r.scope}`, r.table !== undefined && `table ${r.table}`, r.priority !== undefined && `metric ${r.priority}`]
    .filter(Boolean)
    .join(' ');
const opts = (o: Record<string, unknown> | undefined): string =>
  Object.entries(o ?? {}).filter(([, v]) => v !== undefined && v !== false).map(([k, v]) => (v === true ? ` ${k}` : ` ${k} ${String(v)}`)).join('');

function found(v: unknown): string {
  if (v === undefined) return 'ok: none';
  if (Array.isArray(v)) return `ok: ${v.length} entries`;
  const link = v as Partial<LinkInfo>;
  if (typeof link.index === 'number' && typeof link.name === 'string') return `ok: index ${link.index} "${link.name}"`;
  return 'ok';
}

class ExplainedNetlink implements Netlink {
  constructor(
    private readonly inner: Netlink,
    private readonly where: string,
    private readonly why: string | undefined,
  ) {}

  /** Runs one request and reports it; what a query or a new link returns is shown in the result. */
  private call<T>(line: string, fn: () => T): T {
    const call = `${line}${this.where}`;
    try {
      const out = fn();
      emit('net', call, /^RTM_(GET|NEWLINK (bridge|veth))/.test(line) ? found(out) : 'ok', this.why);
      return out;
    } catch (err) {
      emit('net', call, (err as { errno?: string }).errno ?? 'error', this.why);
      throw err;
    }
  }

  links(): LinkInfo[] { return this.call('RTM_GETLINK dump', () => this.inner.links()); }
  linkByName(name: string): LinkInfo | undefined { return this.call(`RTM_GETLINK "${name}"`, () => this.inner.linkByName(name)); }
  linkByIndex(index: number): LinkInfo | undefined { return this.call(`RTM_GETLINK index ${index}`, () => this.inner.linkByIndex(index)); }
  addBridge(name: string, o?: { mtu?: number }): LinkInfo { return this.call(`RTM_NEWLINK bridge "${name}"${opts(o)}`, () => this.inner.addBridge(name, o)); }
  addVeth(name: string, peer: VethPeer, o?: { mtu?: number; mac?: string }): LinkInfo {
    const peerText = `peer "${peer.name}"${peer.netns ? ` [peer netns ${peer.netns}]` : ''}${opts({ 'peer mtu': peer.mtu, 'peer address': peer.mac })}`;
    return this.call(`RTM_NEWLINK veth "${name}" ${peerText}${opts({ mtu: o?.mtu, address: o?.mac })}`, () => this.inner.addVeth(name, peer, o));
  }
  setUp(index: number, up: boolean): void { this.call(`RTM_NEWLINK index ${index} ${up ? 'up' : 'down'}`, () => this.inner.setUp(index, up)); }
  setMaster(index: number, master: number): void { this.call(`RTM_NEWLINK index ${index} master ${master}`, () => this.inner.setMaster(index, master)); }
  setMtu(index: number, mtu: number): void { this.call(`RTM_NEWLINK index ${index} mtu ${mtu}`, () => this.inner.setMtu(index, mtu)); }
  setPromisc(index: number, on: boolean): void { this.call(`RTM_NEWLINK index ${index} promisc ${onOff(on)}`, () => this.inner.setPromisc(index, on)); }
  setMac(index: number, mac: string): void { this.call(`RTM_NEWLINK index ${index} address ${mac}`, () => this.inner.setMac(index, mac)); }
  setHairpin(index: number, on: boolean): void { this.call(`RTM_SETLINK bridge port ${index} hairpin ${onOff(on)}`, () => this.inner.setHairpin(index, on)); }
  delLink(index: number): void { this.call(`RTM_DELLINK index ${index}`, () => this.inner.delLink(index)); }
  addrs(family?: 4 | 6): AddrInfo[] { return this.call(`RTM_GETADDR dump${family ? ` ipv${family}` : ''}`, () => this.inner.addrs(family)); }
  addAddr(index: number, cidr: string, o?: { noDad?: boolean }): void {
    this.call(`RTM_NEWADDR ${cidr} dev ${index}${o?.noDad ? ' nodad' : ''}`, () => this.inner.addAddr(index, cidr, o));
  }
  delAddr(index: number, cidr: string): void { this.call(`RTM_DELADDR ${cidr} dev ${index}`, () => this.inner.delAddr(index, cidr)); }
  routes(family?: 4 | 6): RouteInfo[] { return this.call(`RTM_GETROUTE dump${family ? ` ipv${family}` : ''}`, () => this.inner.routes(family)); }
  routeGet(ip: string): RouteInfo | undefined { return this.call(`RTM_GETROUTE to ${ip}`, () => this.inner.routeGet(ip)); }
  addRoute(r: RouteSpec, o?: { replace?: boolean }): void { this.call(`RTM_NEWROUTE ${route(r)}${o?.replace ? ' replace' : ''}`, () => this.inner.addRoute(r, o)); }
  delRoute(r: RouteSpec): void { this.call(`RTM_DELROUTE ${route(r)}`, () => this.inner.delRoute(r)); }
  bridgePorts(): BridgePortInfo[] { return this.call('RTM_GETLINK dump AF_BRIDGE', () => this.inner.bridgePorts()); }
  nsidOf(netnsPath: string): number | undefined { return this.call(`RTM_GETNSID ${netnsPath}`, () => this.inner.nsidOf(netnsPath)); }
  close(): void { this.inner.close(); }
}

/** A NetlinkOpener whose Netlinks report each request to --explain, with `why` as the reason. */
export class ExplainedNetlinkOpener implements NetlinkOpener {
  constructor(
    private readonly inner: NetlinkOpener,
    private readonly why?: string,
  ) {}
  open(netnsPath?: string): Netlink {
    return new ExplainedNetlink(this.inner.open(netnsPath), netnsPath ? ` [netns ${netnsPath}]` : '', this.why);
  }
}
