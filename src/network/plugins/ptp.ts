import { RT_SCOPE } from '../rtnetlink/constants.js';
import { parseCidr } from '../rtnetlink/ip.js';
import type { Netlink } from '../rtnetlink/netlink.js';
import type { CniResult, Result100 } from '../cni/result/types.js';
import { networkOf } from './host-local/range.js';
import { dnsSet } from './bridge-config.js';
import { cniError } from './errors.js';
import { chainName, comment, familiesOf, setupIpMasq, teardownIpMasq } from './ipmasq.js';
import { checkContainerIface, configureIface, delLinkByName, setupVeth } from './link.js';
import { delContainerIface, openIn } from './netns.js';
import { currentBatch } from './iptables-batch.js';
import { asV1, finish, type Plugin, type PluginDeps, type PluginRequest } from './skel.js';
import { Undo } from './undo.js';
import { gcIpamAndMasq, teardownMasqOnDel } from './gc.js';
import type { Dns } from '../cni/result/types.js';

// ptp: a veth pair routed instead of bridged. The container keeps its /24 (or
// whatever IPAM gave) but every packet goes via the gateway, which lives as a
// /32 on the host end; the host routes each container address to its veth.

interface PtpConf {
  name: string;
  ipMasq: boolean;
  mtu?: number;
  ipamType: string;
  dns?: Dns;
}

function loadPtpConf(raw: Record<string, unknown>): PtpConf {
  const ipamType = (raw.ipam as { type?: string } | undefined)?.type;
  if (!ipamType) throw cniError('IPAM config missing \'type\' key');
  return { name: String(raw.name ?? ''), ipMasq: raw.ipMasq === true, mtu: typeof raw.mtu === 'number' && raw.mtu > 0 ? raw.mtu : undefined, ipamType, dns: raw.dns as Dns | undefined };
}

/** Swaps the connected subnet route for "gw/32 scope link" plus "subnet via gw", so all traffic ARPs for the gateway. */
function routeViaGateway(cont: Netlink, ifIndex: number, result: Result100): void {
  for (const ip of result.ips ?? []) {
    const a = parseCidr(ip.address);
    if (!ip.gateway) throw cniError(`ptp: IPAM gave no gateway for ${ip.address}`);
    const subnet = networkOf(ip.address);
    try {
      cont.delRoute({ dst: subnet, oif: ifIndex });
    } catch (err) {
      throw cniError(`failed to delete route ${subnet}: ${(err as Error).message}`);
    }
    cont.addRoute({ dst: `${ip.gateway}/${a.family === 4 ? 32 : 128}`, oif: ifIndex, scope: RT_SCOPE.LINK, src: a.address });
    cont.addRoute({ dst: subnet, oif: ifIndex, gateway: ip.gateway, scope: RT_SCOPE.UNIVERSE, src: a.address });
  }
}

export const ptp: Plugin = {
  async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
    const c = loadPtpConf(req.conf);
    const undo = new Undo();
    let host: Netlink | undefined;
    let cont: Netlink | undefined;
    try {
      const result = await asV1(await deps.ipam(c.ipamType, req), req.conf);
      undo.push('IPAM release', () => deps.ipam(c.ipamType, { ...req, command: 'DEL' }));
      if (!result.ips?.length) throw cniError('IPAM plugin returned missing IP config');
      for (const f of familiesOf(result.ips.map((i) => i.address))) {
        deps.sysctl(undefined, f === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding', '1');
      }
      host = deps.netlink.open();
      cont = openIn(deps, req.netns);
      const veth = setupVeth(deps, host, cont, req.netns, req.ifName, c.mtu);
      undo.push(`delete veth ${veth.host.name}`, () => delLinkByName(host!, veth.host.name));
      result.interfaces = [
        { name: veth.host.name, mac: veth.host.mac },
        { name: req.ifName, mac: veth.container.mac, sandbox: req.netns },
      ];
      for (const ip of result.ips) ip.interface = 1;
      await configureIface(deps, cont, req.netns, req.ifName, result);
      routeViaGateway(cont, veth.container.index, result);
      for (const ip of result.ips) {
        const a = parseCidr(ip.address);
        const bits = a.family === 4 ? 32 : 128;
        host.addAddr(veth.host.index, `${ip.gateway}/${bits}`);
        host.addRoute({ dst: `${a.address}/${bits}`, oif: veth.host.index, scope: RT_SCOPE.HOST });
      }
      if (c.ipMasq) {
        const chain = chainName(c.name, req.containerId);
        undo.push('masquerade teardown', () => teardownIpMasq(deps.iptables, chain, familiesOf(result.ips!.map((i) => i.address))));
        await setupIpMasq(deps.iptables, result.ips.map((i) => i.address), chain, comment(c.name, req.containerId));
      }
      if (dnsSet(c.dns)) result.dns = c.dns;
      const { cniVersion: _v, ...rest } = result;
      return finish(rest, req.conf);
    } catch (err) {
      return await undo.run(err); // await: the finally below closes the sockets the undo steps use
    } finally {
      host?.close();
      cont?.close();
    }
  },

  async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const c = loadPtpConf(req.conf);
    // The address goes back to IPAM last: while the veth (with its host route)
    // or a rule naming the address is still there, a container given the same
    // address would clash with it, or lose its own identical rule to the late deletion.
    const addrs = delContainerIface(deps, req.netns, req.ifName);
    if (c.ipMasq) await teardownMasqOnDel(req, deps.iptables, c.name, addrs);
    await currentBatch()?.settleDeletions();
    await deps.ipam(c.ipamType, req);
  },

  /** Spec 1.1 GC: IPAM drops stale allocations; stale masquerade chains go by their comments. */
  async gc(req: PluginRequest, deps: PluginDeps): Promise<void> {
    await gcIpamAndMasq(req, deps, loadPtpConf(req.conf));
  },

  async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const cont = openIn(deps, req.netns);
    try {
      await checkContainerIface(cont, req);
    } finally {
      cont.close();
    }
  },
};
