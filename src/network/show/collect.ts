import type { CacheEntry } from '../cni/cache.js';
import type { Netlink, NetlinkOpener } from '../rtnetlink/netlink.js';
import { bridgeNameOf, cachedFacts, wantsFirewallRules, wantsMasquerade } from './cached.js';
import { nameserversOf, readDnsFiles, type DnsPlaces } from './dns.js';
import { hostLinkView, hostPeerOf, interfaceView, readNetns } from './live.js';
import type { AttachmentView, ChainView, NetView, NetnsView, PortView } from './model.js';
import { dnatsOf, masqueradeOf, parseSave, portmapOf, rulesNaming, type Ruleset } from './rules.js';

// Puts the live kernel next to the CNI cache, one attachment at a time, and
// writes down every place where they disagree.

export interface ShowDeps {
  netlink: NetlinkOpener;
  /** iptables-save (or ip6tables-save) output, undefined when that family has no iptables */
  iptablesSave: (family: 4 | 6) => string | undefined;
}

/** What to show, as found by target.ts. */
export interface ShowTarget {
  container?: NetView['container'];
  mode: NetView['mode'];
  /** the namespace to read; absent for host and gone */
  netnsPath?: string;
  handle?: string;
  entries: { entry: CacheEntry; file: string }[];
  dns: DnsPlaces;
  problems?: string[];
  notes?: string[];
}

export function collect(deps: ShowDeps, t: ShowTarget): NetView {
  const view: NetView = { ...(t.container ? { container: t.container } : {}), mode: t.mode, attachments: [], dns: [], problems: [...(t.problems ?? [])], notes: [...(t.notes ?? [])] };
  let ns: Netlink | undefined;
  const host = deps.netlink.open();
  try {
    let nsid: number | undefined;
    if (t.netnsPath) {
      ns = deps.netlink.open(t.netnsPath);
      view.netns = readNetns(ns, t.netnsPath);
      if (t.handle) view.netns.handle = t.handle;
      nsid = nsidOf(host, t.netnsPath);
    }
    const rules = loadRules(deps, t.entries.length > 0);
    for (const { entry, file } of t.entries) view.attachments.push(attachment(host, view.netns, nsid, rules, entry, file));
    if (t.mode === 'cni' && view.netns) {
      const covered = new Set(t.entries.map((e) => e.entry.ifName));
      for (const i of view.netns.interfaces) {
        if (i.name !== 'lo' && !covered.has(i.name)) view.problems.push(`${i.name} is in the container's namespace but in no CNI cache entry (not added by CNI, or its cache entry is gone)`);
      }
    }
  } finally {
    ns?.close();
    host.close();
  }
  if (t.mode !== 'host') view.dns = readDnsFiles(t.dns);
  const resolv = view.dns.find((d) => d.name === '/etc/resolv.conf')?.text;
  // Only the container the network was added for gets its DNS files (a joiner keeps its own).
  for (const a of t.mode === 'cni' ? view.attachments : []) {
    const want = a.cached.dns?.nameservers ?? [];
    const have = resolv === undefined ? [] : nameserversOf(resolv);
    const lacking = want.filter((n) => !have.includes(n));
    if (resolv !== undefined && lacking.length) a.problems.push(`the cached DNS names ${lacking.join(', ')}, the container's /etc/resolv.conf does not`);
  }
  return view;
}

function loadRules(deps: ShowDeps, needed: boolean): Record<4 | 6, Ruleset> {
  const empty = (): Ruleset => ({ nat: [], filter: [] });
  if (!needed) return { 4: empty(), 6: empty() };
  const read = (f: 4 | 6): Ruleset => {
    const text = deps.iptablesSave(f);
    return text === undefined ? empty() : parseSave(text);
  };
  return { 4: read(4), 6: read(6) };
}

const bare = (cidr: string): string => cidr.split('/')[0]!;
const familyOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

function attachment(host: Netlink, ns: NetnsView | undefined, nsid: number | undefined, rules: Record<4 | 6, Ruleset>, entry: CacheEntry, file: string): AttachmentView {
  const f = cachedFacts(entry);
  const a: AttachmentView = {
    network: entry.network,
    ifName: entry.ifName,
    containerId: entry.containerId,
    cacheFile: file,
    plugins: f.plugins.map((p) => String(p.type ?? '?')),
    cached: f.cached,
    ports: [],
    firewall: [],
    problems: [],
  };
  if (f.cniVersion) a.cniVersion = f.cniVersion;
  const p = a.problems;

  // The container's end.
  if (ns) {
    a.container = ns.interfaces.find((i) => i.name === entry.ifName);
    if (!a.container) p.push(`${entry.ifName} is not in the container's network namespace (the cache says it should be)`);
  }
  const cachedCtr = f.cached.interfaces.find((i) => i.name === entry.ifName && i.sandbox);
  if (a.container) {
    if (cachedCtr?.mac && a.container.mac && cachedCtr.mac.toLowerCase() !== a.container.mac) p.push(`${entry.ifName} has MAC ${a.container.mac}, the cache says ${cachedCtr.mac}`);
    for (const ip of f.cached.ips) {
      if (!a.container.addresses.some((x) => bare(x) === bare(ip.address))) p.push(`${ip.address} (cached) is not on ${entry.ifName}`);
    }
    if (!a.container.up) p.push(`${entry.ifName} is down`);
  }

  // The host's end and its bridge.
  const bridgeName = bridgeNameOf(f.plugins);
  const cachedHost = f.cached.interfaces.find((i) => !i.sandbox && i.name !== bridgeName);
  const peer = a.container ? hostPeerOf(host, a.container, nsid) : undefined;
  if (peer) {
    a.hostVeth = hostLinkView(host, peer);
    if (cachedHost && cachedHost.name !== peer.name) p.push(`the host end of ${entry.ifName} is ${peer.name}, the cache says ${cachedHost.name}`);
  } else if (cachedHost) {
    const byName = host.linkByName(cachedHost.name);
    if (!byName) p.push(`host veth ${cachedHost.name} is gone`);
    else if (a.container) p.push(`host link ${cachedHost.name} exists but is not the peer of ${entry.ifName}`);
    else a.hostVeth = hostLinkView(host, byName);
  } else if (a.container?.kind === 'veth') {
    p.push(`the host end of ${entry.ifName} (ifindex ${a.container.peer?.index}) is not in the host's namespace`);
  }
  if (bridgeName) {
    a.bridgeName = bridgeName;
    const br = host.linkByName(bridgeName);
    if (!br) p.push(`bridge ${bridgeName} is gone`);
    else a.bridge = interfaceView(br, host.addrs().filter((x) => x.index === br.index), new Map());
    if (a.hostVeth && a.hostVeth.master !== bridgeName) p.push(`host veth ${a.hostVeth.name} is not a port of ${bridgeName}${a.hostVeth.master ? ` (it is on ${a.hostVeth.master})` : ''}`);
  }

  // Host rules, per family of the container's addresses.
  const addrs = f.cached.ips.map((ip) => bare(ip.address));
  const families = [...new Set(addrs.map(familyOf))];
  for (const fam of families.length ? families : [4 as const]) {
    const rs = rules[fam];
    const masq = masqueradeOf(rs, entry.network, entry.containerId);
    const pm = portmapOf(rs, entry.network, entry.containerId);
    if (masq) a.masquerade = a.masquerade ? merge(a.masquerade, masq) : masq;
    if (pm) a.portmap = a.portmap ? merge(a.portmap, pm) : pm;
    a.firewall.push(...rulesNaming(rs, addrs.filter((x) => familyOf(x) === fam), [masq?.chain, pm?.chain].filter((c): c is string => !!c)));
  }
  if (wantsMasquerade(f.plugins)) {
    if (!a.masquerade?.rules.length) p.push(`masquerade chain for ${entry.network}/${entry.containerId} is missing (ipMasq is on)`);
    else if (!a.masquerade.entries.length) p.push(`masquerade chain ${a.masquerade.chain} has no POSTROUTING entry`);
  }
  const dnats = dnatsOf(a.portmap);
  const hasPortmap = a.plugins.includes('portmap');
  for (const m of f.portMappings) {
    const found = dnats.find((d) => d.hostPort === m.hostPort && d.protocol === m.protocol && (!m.hostIP || d.hostIP === m.hostIP));
    const port: PortView = { protocol: m.protocol, hostPort: m.hostPort, containerPort: m.containerPort };
    if (m.hostIP) port.hostIP = m.hostIP;
    if (found) port.to = found.to;
    else if (hasPortmap) p.push(`published port ${m.protocol}/${m.hostPort} has no DNAT rule`);
    a.ports.push(port);
  }
  if (hasPortmap && f.portMappings.length && a.portmap && !a.portmap.entries.length) p.push(`portmap chain ${a.portmap.chain} has no CNI-HOSTPORT-DNAT entry`);
  if (wantsFirewallRules(f.plugins) && !a.firewall.length) p.push(`the firewall plugin is in the chain, but no host rule names ${addrs.join(', ')}`);
  return a;
}

const merge = (x: ChainView, y: ChainView): ChainView => ({ ...x, entries: [...x.entries, ...y.entries], rules: [...x.rules, ...y.rules] });

/** The host's id for the container's namespace; without one, the peer is matched by ifindex alone. */
function nsidOf(host: Netlink, path: string): number | undefined {
  try {
    return host.nsidOf(path);
  } catch {
    return undefined;
  }
}
