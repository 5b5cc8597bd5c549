import { IFF } from '../rtnetlink/constants.js';
import { isErrno } from '../rtnetlink/netlink.js';
import type { CniResult } from '../cni/result/types.js';
import { cniError } from './errors.js';
import { asV1, confVersion, finish, type Plugin, type PluginDeps, type PluginRequest } from './skel.js';
import { fromV1 } from './result.js';
import { openIn, isNetnsGone } from './netns.js';

// loopback: sets "lo" up in the container's namespace (whatever CNI_IFNAME
// says, as the reference does) and reports its addresses, or passes a
// prevResult through untouched.

export const loopback: Plugin = {
  async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
    const version = confVersion(req.conf);
    const nl = openIn(deps, req.netns);
    let v4: string | undefined;
    let v6: string | undefined;
    try {
      const lo = nl.linkByName('lo');
      if (!lo) throw cniError('failed to find link "lo"');
      nl.setUp(lo.index, true);
      for (const a of nl.addrs().filter((x) => x.index === lo.index)) {
        const loopbackAddr = a.family === 4 ? a.address.startsWith('127.') : a.address === '::1';
        if (!loopbackAddr) throw cniError(`loopback interface found with non-loopback address "${a.address}"`);
        if (a.family === 4) v4 ??= `${a.address}/${a.prefixLen}`;
        else v6 ??= `${a.address}/${a.prefixLen}`;
      }
    } finally {
      nl.close();
    }
    if (req.conf.prevResult) return fromV1(await asV1(req.conf.prevResult, req.conf), version);
    // the reference answers 0.1.0/0.2.0 with an empty result (measured against 1.1.1)
    if (version === '0.1.0' || version === '0.2.0') return { cniVersion: version, dns: {} };
    const ips = [v4, v6].filter((a): a is string => !!a).map((address) => ({ interface: 0, address }));
    return finish({ interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: req.netns }], ...(ips.length ? { ips } : {}), dns: {} }, req.conf);
  },

  async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
    if (!req.netns) return;
    let nl;
    try {
      nl = openIn(deps, req.netns);
    } catch (err) {
      if (isNetnsGone(err)) return;
      throw err;
    }
    try {
      const lo = nl.linkByName('lo');
      if (lo) nl.setUp(lo.index, false);
    } catch (err) {
      if (!isErrno(err, 'ENODEV')) throw err;
    } finally {
      nl.close();
    }
  },

  async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
    const nl = openIn(deps, req.netns);
    try {
      const lo = nl.linkByName('lo');
      if (!lo || !(lo.flags & IFF.UP)) throw cniError('loopback interface is down');
    } finally {
      nl.close();
    }
  },
};
