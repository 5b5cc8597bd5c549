import { TsrunError } from '../../errors.js';
import type { Netlink } from '../rtnetlink/netlink.js';
import { CNI_CODE, cniError } from './errors.js';
import type { PluginDeps } from './skel.js';
import { delLinkByName } from './link.js';

// Opening the container's namespace for a plugin, with the reference's wording.

export function openIn(deps: PluginDeps, netns: string): Netlink {
  if (!netns) throw cniError('required env variables [CNI_NETNS] missing', CNI_CODE.INVALID_ENV);
  try {
    return deps.netlink.open(netns);
  } catch (err) {
    if (isNetnsGone(err)) throw cniError(`failed to open netns "${netns}": ${(err as Error).message}`, CNI_CODE.INTERNAL, err);
    throw err;
  }
}

/** DEL treats a vanished namespace as "already cleaned up". */
export function isNetnsGone(err: unknown): boolean {
  return err instanceof TsrunError && (err.code === 'NOT_FOUND' || (err.cause instanceof TsrunError && err.cause.code === 'NOT_FOUND'));
}

/** DEL's first step: the container's interface goes (a veth takes its peer with it); a vanished netns is fine. Returns its addresses. */
export function delContainerIface(deps: PluginDeps, netns: string, ifName: string): string[] {
  if (!netns) return [];
  try {
    const cont = deps.netlink.open(netns);
    try {
      return delLinkByName(cont, ifName);
    } finally {
      cont.close();
    }
  } catch (err) {
    if (!isNetnsGone(err)) throw err;
    return [];
  }
}
