import { errorMessage } from '../../../errors.js';
import type { CniResult } from '../../cni/result/types.js';
import { cniError } from '../errors.js';
import { finish, type Plugin, type PluginDeps, type PluginRequest } from '../skel.js';
import { Allocator, type IpConfig } from './allocator.js';
import { loadHostLocalConf, type HostLocalConf } from './config.js';
import { DiskStore } from './disk-store.js';
import { parseResolvConf } from './resolv.js';
import type { Store } from './store.js';

// host-local IPAM: one address per range set, from a store shared with the
// reference plugin. The whole ADD or DEL runs under the store's flock, and
// synchronously, so neither other processes nor other in-process calls interleave.

export type StoreFactory = (conf: HostLocalConf, deps: PluginDeps) => Store;
const diskStore: StoreFactory = (conf, deps) => new DiskStore(deps.sys, conf.dataDir, conf.network);

export function hostLocal(openStore: StoreFactory = diskStore): Plugin {
  const withStore = <T>(conf: HostLocalConf, deps: PluginDeps, fn: (s: Store) => T): T => {
    const store = openStore(conf, deps);
    try {
      store.lock();
      try {
        return fn(store);
      } finally {
        store.unlock();
      }
    } finally {
      store.close();
    }
  };

  return {
    async add(req: PluginRequest, deps: PluginDeps): Promise<CniResult> {
      const conf = loadHostLocalConf(req.conf, req.args);
      const dns = conf.resolvConf ? parseResolvConf(conf.resolvConf) : undefined;
      const ips = withStore(conf, deps, (store) => allocateAll(store, conf, req));
      // the reference always prints "dns", empty or not
      return finish({ ips, ...(conf.routes.length ? { routes: conf.routes } : {}), dns: dns ?? {} }, req.conf);
    },

    async del(req: PluginRequest, deps: PluginDeps): Promise<void> {
      const conf = loadHostLocalConf(req.conf, req.args);
      withStore(conf, deps, (store) => store.releaseByID(req.containerId, req.ifName));
    },

    async check(req: PluginRequest, deps: PluginDeps): Promise<void> {
      const conf = loadHostLocalConf(req.conf, req.args);
      const found = withStore(conf, deps, (store) => store.findByID(req.containerId, req.ifName));
      if (found.length === 0) throw cniError(`host-local: Failed to find address added by container ${req.containerId}`);
    },

    /** Spec 1.1 GC: release every allocation not in cni.dev/valid-attachments. */
    async gc(req: PluginRequest, deps: PluginDeps): Promise<void> {
      const conf = loadHostLocalConf(req.conf, req.args);
      const valid = (req.conf['cni.dev/valid-attachments'] as { containerID: string; ifname: string }[] | undefined) ?? [];
      const keep = new Set(valid.map((a) => `${a.containerID}\r\n${a.ifname}`));
      withStore(conf, deps, (store) => {
        for (const a of store.all()) if (!keep.has(`${a.id}\r\n${a.ifName}`)) store.releaseByID(a.id, a.ifName);
      });
    },
  };
}

/** One IP per range set, requested IPs placed in the set that holds them; all or nothing. */
function allocateAll(store: Store, conf: HostLocalConf, req: PluginRequest): (IpConfig & { interface?: number })[] {
  const requested = [...conf.requestedIPs];
  const out: IpConfig[] = [];
  try {
    conf.rangeSets.forEach((set, idx) => {
      const alloc = new Allocator(set, store, idx);
      const i = requested.findIndex((ip) => alloc.contains(ip));
      const want = i >= 0 ? requested.splice(i, 1)[0] : undefined;
      try {
        out.push(alloc.get(req.containerId, req.ifName, want));
      } catch (err) {
        throw cniError(`failed to allocate for range ${idx}: ${errorMessage(err)}`);
      }
    });
    if (requested.length) throw cniError(`failed to allocate all requested IPs: ${requested.join(' ')}`);
  } catch (err) {
    if (out.length) store.releaseByID(req.containerId, req.ifName);
    throw err;
  }
  return out;
}
