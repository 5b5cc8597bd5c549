import { existsSync, readFileSync } from 'node:fs';
import { atLeast } from '../../cni/version.js';
import { CNI_CODE, cniError } from '../errors.js';
import { confVersion, PLUGIN_VERSIONS } from '../skel.js';

// firewall's config, read like the reference's: `backend` (iptables unless a
// firewalld is running; tsrun has no firewalld backend), the admin chain's
// name, and the ingress policy ("open" or "same-bridge").

export const FIREWALL_VERSIONS = PLUGIN_VERSIONS.filter((v) => atLeast(v, '0.4.0'));

export interface FirewallConf {
  adminChain: string;
  ingressPolicy: 'open' | 'same-bridge';
}

export function loadFirewallConf(raw: Record<string, unknown>, isFirewalldRunning = firewalldRunning): FirewallConf {
  const v = confVersion(raw);
  if (!atLeast(v, '0.4.0')) {
    throw cniError(`incompatible CNI versions; config is "${v}", plugin supports [${FIREWALL_VERSIONS.map((x) => `"${x}"`).join(' ')}]`, CNI_CODE.INCOMPATIBLE_VERSION);
  }
  // like the reference: "iptables" and "firewalld" are taken as given, anything else means "firewalld if running"
  const backend = raw.backend === 'iptables' || raw.backend === 'firewalld' ? raw.backend : isFirewalldRunning() ? 'firewalld' : 'iptables';
  if (backend === 'firewalld') throw cniError('firewall: the firewalld backend is not built in; use the reference plugin for it, or set "backend": "iptables"');
  const policy = raw.ingressPolicy ?? '';
  if (policy !== '' && policy !== 'open' && policy !== 'same-bridge') throw cniError(`unknown ingress policy: ${JSON.stringify(policy)}`);
  return {
    adminChain: typeof raw.iptablesAdminChainName === 'string' && raw.iptablesAdminChainName ? raw.iptablesAdminChainName : 'CNI-ADMIN',
    ingressPolicy: policy === 'same-bridge' ? 'same-bridge' : 'open',
  };
}

/** firewalld writes its pid to /run/firewalld.pid unless told not to; the reference asks D-Bus instead. */
function firewalldRunning(): boolean {
  try {
    const pid = readFileSync('/run/firewalld.pid', 'utf8').trim();
    return /^\d+$/.test(pid) && existsSync(`/proc/${pid}`);
  } catch {
    return false;
  }
}
