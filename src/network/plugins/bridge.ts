import { parseCidr } from '../rtnetlink/ip.js';
import { NetlinkError, type LinkInfo, type Netlink } from '../rtnetlink/netlink.js';
import { bigToIp, networkBig } from './host-local/range.js';
import type { CniResult, Result100 } from '../cni/result/types.js';
import { dnsSet, loadBridgeConf, type BridgeConf } from './bridge-config.js';
import { cniError } from './errors.js';
import { chainName, comment, familiesOf, setupIpMasq, teardownIpMasq } from './ipmasq.js';
import { checkContainerIface, configureIface, delLinkByName, setupVeth } from './link.js';
import { delContainerIface, openIn } from './netns.js';
import { asV1, finish, type Plugin, type PluginDeps, type PluginRequest } from './skel.js';
import { Undo } from './undo.js';
import { cachedAddresses, gcIpamAndMasq, teardownMasqOnDel } from './gc.js';
import { currentBatch } from './iptables-batch.js';

// bridge: a Linux bridge on the host (created or reused), a veth pair from it
// into the container, addresses from IPAM, optionally the gateway address on
// the bridge and masquerading. Every step registers its undo when done.

function ensureBridge(deps: PluginDeps, host: Netlink, c: BridgeConf): LinkInfo {
  let br = host.linkByName(c.bridge);
  if (!br) {
    try {
      br = host.addBridge(c.bridge, { mtu: c.mtu });
    } catch (err) {
      br = host.linkByName(c.bridge); // another ADD made it meanwhile
      if (!br) throw cniError(`could not add "${c.bridge}": ${(err as Error).message}`);
    }
  }
  if (br.kind !== 'bridge') throw cniError(`"${c.bridge}" already exists but is not a bridge`);
  if (c.promiscMode) host.setPromisc(br.index, true);
  try {
    deps.sysctl(undefined, `net.ipv6.conf.${c.bridge}.accept_ra`, '0'); // we own this bridge's routes
  } catch {
    // IPv6 off: nothing to own
  }
  host.setUp(br.index, true);
  return br;
}

/** Gateway per IP (first address of its subnet when IPAM gave none) and a default route per family when asked. */
function calcGateways(result: Result100, c: BridgeConf): string[] {
  const gws: string[] = [];
  const defaultDone = new Set<number>();
  for (const ip of result.ips ?? []) {
    const a = parseCidr(ip.address);
    ip.interface = 2;
    if (!ip.gateway && c.isGateway) ip.gateway = bigToIp(networkBig(ip.address) + 1n, a.family);
    if (c.isDefaultGateway && !defaultDone.has(a.family)) {
      const dst = a.family === 4 ? '0.0.0.0/0' : '::/0';
      if (!(result.routes ?? []).some((r) => r.gw && r.dst === dst)) (result.routes ??= []).push({ dst, gw: ip.gateway });
      defaultDone.add(a.family);
    }
    if (c.isGateway && ip.gateway) gws.push(`${ip.gateway}/${a.prefixLen}`);
  }
  return gws;
}

/** The gateway address on the bridge; a different IPv4 one (or an overlapping IPv6 one) is an error unless forceAddress. */
function ensureAddr(host: Netlink, br: LinkInfo, gw: string, force: boolean): void {
  const want = parseCidr(gw);
  for (const a of host.addrs(want.family).filter((x) => x.index === br.index && !x.address.startsWith('fe80'))) {
    if (a.address === want.address && a.prefixLen === want.prefixLen) return;
    const overlaps = want.family === 4 || a.prefixLen === want.prefixLen;
    if (!overlaps) continue;
    if (!force) throw cniError(`"${br.name}" already has an IP address different from ${gw}`);
    host.delAddr(br.index, `${a.address}/${a.prefixLen}`);
  }
  try {
    host.addAddr(br.index, gw);
  } catch (err) {
    // Another ADD on the same bridge (a parallel plugin exec) added it between our look and our add.
    if (!(err instanceof NetlinkError && err.errnoCode === 'EEXIST')) throw err;
  }
  // pin the bridge's MAC, or it follows the lowest port MAC as ports come and go
  const mac = host.linkByIndex(br.index)?.mac;
  if (mac) host.setMac(br.index, mac);
}

export const bridge: Plugin = {
  async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
    const c = loadBridgeConf(req.conf);
    const undo = new Undo();
    const host = deps.netlink.open();
    const cont = openIn(deps, req.netns);
    try {
      const br = ensureBridge(deps, host, c);
      const veth = setupVeth(deps, host, cont, req.netns, req.ifName, c.mtu);
      undo.push(`delete veth ${veth.host.name}`, () => delLinkByName(host, veth.host.name));
      host.setMaster(veth.host.index, br.index);
      if (c.hairpinMode) host.setHairpin(veth.host.index, true);
      const result: Result100 = {
        cniVersion: '1.0.0',
        interfaces: [
          { name: br.name, mac: br.mac },
          { name: veth.host.name, mac: veth.host.mac },
          { name: req.ifName, mac: veth.container.mac, sandbox: req.netns },
        ],
      };
      if (c.ipamType) {
        const ipam = await asV1(await deps.ipam(c.ipamType, req), req.conf);
        undo.push('IPAM release', () => deps.ipam(c.ipamType!, { ...req, command: 'DEL' }));
        if (!ipam.ips?.length) throw cniError('IPAM plugin returned missing IP config');
        Object.assign(result, { ips: ipam.ips, routes: ipam.routes, dns: ipam.dns });
        const gws = calcGateways(result, c);
        try {
          deps.sysctl(req.netns, `net.ipv4.conf.${req.ifName}.arp_notify`, '1');
        } catch {
          // best effort, as in the reference
        }
        await configureIface(deps, cont, req.netns, req.ifName, result, c.hairpinMode || c.promiscMode);
        for (const gw of gws) ensureAddr(host, br, gw, c.forceAddress);
        for (const f of familiesOf(gws)) deps.sysctl(undefined, f === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding', '1');
        if (c.ipMasq) {
          const chain = chainName(c.name, req.containerId);
          undo.push('masquerade teardown', () => teardownIpMasq(deps.iptables, chain, familiesOf(result.ips!.map((i) => i.address))));
          await setupIpMasq(deps.iptables, result.ips!.map((i) => i.address), chain, comment(c.name, req.containerId));
        }
      }
      result.interfaces![0]!.mac = host.linkByIndex(br.index)?.mac; // may change once a port or an address is added
      if (dnsSet(c.dns)) result.dns = c.dns;
      const { cniVersion: _v, ...rest } = result;
      return finish(rest, req.conf);
    } catch (err) {
      return await undo.run(err); // await: the finally below closes the sockets the undo steps use
    } finally {
      host.close();
      cont.close();
    }
  },

  async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const c = loadBridgeConf(req.conf);
    const masq = c.ipamType !== undefined && c.ipMasq;
    // With the addresses in prevResult, masquerading goes first: in a chain's
    // batch, the rule deletions then run while the veth is removed (both wait on the kernel).
    const early = masq && (await cachedAddresses(req)).length > 0;
    if (early) {
      await teardownMasqOnDel(req, deps.iptables, c.name, []);
      currentBatch()?.startDeletions();
    }
    const addrs = delContainerIface(deps, req.netns, req.ifName);
    await currentBatch()?.settleDeletions(); // the rules naming the address go before the address does
    if (c.ipamType) await deps.ipam(c.ipamType, req);
    if (masq && !early) await teardownMasqOnDel(req, deps.iptables, c.name, addrs);
  },

  /** Spec 1.1 GC: IPAM drops stale allocations; stale masquerade chains go by their comments. */
  async gc(req: PluginRequest, deps: PluginDeps): Promise<void> {
    await gcIpamAndMasq(req, deps, loadBridgeConf(req.conf));
  },

  async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const c = loadBridgeConf(req.conf);
    const host = deps.netlink.open();
    const cont = openIn(deps, req.netns);
    try {
      const br = host.linkByName(c.bridge);
      if (!br || br.kind !== 'bridge') throw cniError(`bridge "${c.bridge}" not found`);
      await checkContainerIface(cont, req);
    } finally {
      host.close();
      cont.close();
    }
  },
};
