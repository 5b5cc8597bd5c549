import { IFA_F } from '../rtnetlink/constants.js';
import { isErrno, type LinkInfo, type Netlink } from '../rtnetlink/netlink.js';
import { familyOf, parseCidr } from '../rtnetlink/ip.js';
import type { Result100 } from '../cni/result/types.js';
import { cniError } from './errors.js';
import { asV1, type PluginDeps, type PluginRequest } from './skel.js';

// Shared by bridge and ptp: the veth pair (host end "veth<8 hex>", container
// end CNI_IFNAME, created from the host side with the peer placed straight
// into the container's namespace), and the reference's ipam.ConfigureIface.

export interface VethPair {
  host: LinkInfo;
  container: LinkInfo;
}

export function setupVeth(deps: PluginDeps, host: Netlink, cont: Netlink, netns: string, ifName: string, mtu?: number): VethPair {
  if (cont.linkByName(ifName)) throw cniError(`container veth name provided (${ifName}) already exists`);
  for (let attempt = 0; ; attempt++) {
    const hostName = `veth${deps.random(4).toString('hex')}`;
    try {
      const h = host.addVeth(hostName, { name: ifName, netns, mtu }, { mtu });
      const c = cont.linkByName(ifName);
      if (!c) throw cniError(`failed to find container veth "${ifName}" after creating it`);
      cont.setUp(c.index, true);
      host.setUp(h.index, true);
      return { host: host.linkByIndex(h.index) ?? h, container: cont.linkByIndex(c.index) ?? c };
    } catch (err) {
      // a host name collision: another random name (the reference retries too)
      if (isErrno(err, 'EEXIST') && attempt < 10 && !cont.linkByName(ifName)) continue;
      if (isErrno(err, 'EEXIST') && cont.linkByName(ifName)) throw cniError(`container veth name provided (${ifName}) already exists`);
      throw err;
    }
  }
}

/** Addresses with `interface` pointing at ifName, the link up, then the result's routes (gateway defaulting per family). */
export async function configureIface(deps: PluginDeps, nl: Netlink, netns: string, ifName: string, result: Result100, noDad = false): Promise<void> {
  const link = nl.linkByName(ifName);
  if (!link) throw cniError(`failed to lookup "${ifName}"`);
  nl.setUp(link.index, true);
  const gw: Partial<Record<4 | 6, string>> = {};
  let ipv6Enabled = false;
  for (const ip of result.ips ?? []) {
    if (ip.interface === undefined) continue;
    if (result.interfaces?.[ip.interface]?.name !== ifName) throw cniError(`failed to add IP addr ${ip.address} to "${ifName}": invalid interface index`);
    const f = familyOf(ip.address.split('/')[0]!);
    if (f === 6 && !ipv6Enabled && noDad) {
      // hairpin/promisc echo neighbour solicitations back: DAD would fail (the reference turns it off by sysctl)
      try {
        deps.sysctl(netns, `net.ipv6.conf.${ifName}.enhanced_dad`, '0');
      } catch {
        // older kernels have no enhanced_dad
      }
      deps.sysctl(netns, `net.ipv6.conf.${ifName}.accept_dad`, '0');
    }
    if (f === 6 && !ipv6Enabled) {
      for (const dev of ['lo', ifName]) {
        try {
          deps.sysctl(netns, `net.ipv6.conf.${dev}.disable_ipv6`, '0');
        } catch {
          // IPv6 may be off in the kernel: the address add will say so
        }
      }
      ipv6Enabled = true;
    }
    try {
      nl.addAddr(link.index, ip.address);
    } catch (err) {
      throw cniError(`failed to add IP addr ${ip.address} to "${ifName}": ${(err as Error).message}`);
    }
    if (ip.gateway && !gw[familyOf(ip.gateway)]) gw[familyOf(ip.gateway)] = ip.gateway;
  }
  if (gw[6]) await settleAddresses(nl, link.index, 10_000);
  for (const r of result.routes ?? []) {
    const via = r.gw ?? gw[parseCidr(r.dst).family];
    try {
      nl.addRoute({ dst: r.dst, gateway: via, oif: link.index, scope: 0 }); // universe, as the reference's netlink library leaves it
    } catch (err) {
      throw cniError(`failed to add route '${r.dst} via ${via ?? '<nil>'} dev ${ifName}': ${(err as Error).message}`);
    }
  }
}

/** Deletes a link by name; gone already is fine. Returns its addresses (for masquerade teardown). */
export function delLinkByName(nl: Netlink, name: string): string[] {
  const link = nl.linkByName(name);
  if (!link) return [];
  const addrs = nl.addrs().filter((a) => a.index === link.index && !a.address.startsWith('fe80')).map((a) => `${a.address}/${a.prefixLen}`);
  try {
    nl.delLink(link.index);
  } catch (err) {
    if (!isErrno(err, 'ENODEV')) throw err;
  }
  return addrs;
}

/** Waits for IPv6 duplicate address detection to finish (the reference's ip.SettleAddresses). */
export async function settleAddresses(nl: Netlink, index: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = nl.addrs(6).filter((a) => a.index === index && a.scope === 0);
    const failed = mine.find((a) => a.flags & IFA_F.DADFAILED);
    if (failed) throw cniError(`link ${index} has address ${failed.address} in DADFAILED state`);
    if (!mine.some((a) => a.flags & IFA_F.TENTATIVE)) return;
    if (Date.now() > deadline) throw cniError(`link ${index} still has tentative IPv6 addresses after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CHECK's container side: the interface exists and holds every address of the previous result. */
export async function checkContainerIface(cont: Netlink, req: PluginRequest): Promise<void> {
  const link = cont.linkByName(req.ifName);
  if (!link) throw cniError(`failed to find container interface "${req.ifName}"`);
  const prev = req.conf.prevResult ? await asV1(req.conf.prevResult, req.conf) : undefined;
  const have = new Set(cont.addrs().filter((a) => a.index === link.index).map((a) => `${a.address}/${a.prefixLen}`));
  for (const ip of prev?.ips ?? []) {
    const want = parseCidr(ip.address);
    if (!have.has(`${want.address}/${want.prefixLen}`)) throw cniError(`address ${ip.address} is missing from "${req.ifName}"`);
  }
}
