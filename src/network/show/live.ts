import { IFF, RT_SCOPE, RT_TABLE_MAIN } from '../rtnetlink/constants.js';
import type { AddrInfo, LinkInfo, Netlink, RouteInfo } from '../rtnetlink/netlink.js';
import type { HostVethView, InterfaceView, NetnsView, RouteView } from './model.js';

// The live half of `net show`: what rtnetlink says inside the container's
// namespace, and on the host for the other end of each veth.

export function interfaceView(l: LinkInfo, addrs: AddrInfo[], names: Map<number, string>): InterfaceView {
  const own = addrs.filter((a) => a.index === l.index).sort((a, b) => a.family - b.family);
  const v: InterfaceView = { index: l.index, name: l.name, mtu: l.mtu, up: (l.flags & IFF.UP) !== 0, addresses: own.map((a) => `${a.address}/${a.prefixLen}`) };
  if (l.kind) v.kind = l.kind;
  if (l.mac && l.mac !== '00:00:00:00:00:00') v.mac = l.mac;
  if (l.master) v.master = names.get(l.master) ?? `if${l.master}`;
  if (l.kind === 'veth' && l.peerIndex) v.peer = { index: l.peerIndex, netnsId: l.linkNetnsId };
  return v;
}

const SCOPES: Record<number, string> = { [RT_SCOPE.LINK]: 'link', [RT_SCOPE.HOST]: 'host', [RT_SCOPE.NOWHERE]: 'nowhere' };

function routeView(r: RouteInfo, names: Map<number, string>): RouteView {
  const v: RouteView = { dst: r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst };
  if (r.gateway) v.gateway = r.gateway;
  if (r.oif) v.dev = names.get(r.oif) ?? `if${r.oif}`;
  if (SCOPES[r.scope]) v.scope = SCOPES[r.scope];
  return v;
}

/** Interfaces, addresses and the main routing table of the namespace `nl` was opened in. */
export function readNetns(nl: Netlink, path: string): NetnsView {
  const links = nl.links();
  const addrs = nl.addrs();
  const names = new Map(links.map((l) => [l.index, l.name]));
  // IPv6 multicast and link-local routes are the kernel's own: they say nothing about the network.
  const routes = nl.routes().filter((r) => r.table === RT_TABLE_MAIN && !(r.family === 6 && (r.dst.startsWith('ff00::') || r.dst.startsWith('fe80::'))));
  const byFamily = (a: RouteInfo, b: RouteInfo): number => a.family - b.family;
  return {
    path,
    interfaces: links.map((l) => interfaceView(l, addrs, names)),
    routes: [...routes].sort(byFamily).map((r) => routeView(r, names)),
    defaultGateways: routes.filter((r) => r.dst.endsWith('/0') && r.gateway).sort(byFamily).map((r) => r.gateway!),
  };
}

/** The host's view of one link: its addresses, its bridge's name, hairpin when it is a bridge port. */
export function hostLinkView(host: Netlink, l: LinkInfo): HostVethView {
  const names = new Map<number, string>();
  if (l.master) {
    const m = host.linkByIndex(l.master);
    if (m) names.set(m.index, m.name);
  }
  const v: HostVethView = interfaceView(l, host.addrs().filter((a) => a.index === l.index), names);
  if (l.master) v.hairpin = host.bridgePorts().find((p) => p.index === l.index)?.hairpin ?? false;
  return v;
}

/**
 * The host end of a container veth: the link at the peer's ifindex on the
 * host, accepted only when it is a veth pointing back at the container's
 * ifindex from the container's namespace (link-netnsid), so an unrelated link
 * that reused the index is never shown as the peer.
 */
export function hostPeerOf(host: Netlink, container: InterfaceView, containerNsid: number | undefined): LinkInfo | undefined {
  if (!container.peer) return undefined;
  const l = host.linkByIndex(container.peer.index);
  if (!l || l.kind !== 'veth' || l.peerIndex !== container.index) return undefined;
  if (containerNsid !== undefined && l.linkNetnsId !== undefined && l.linkNetnsId !== containerNsid) return undefined;
  return l;
}
