import type { AttachmentView, ChainView, InterfaceView, NetView, RouteView } from './model.js';

// `tsrun net show` as text: the namespace first (what `ip addr` and
// `ip route` would say inside), then one block per CNI attachment from the
// container's interface out to the host, then the DNS files and problems.

const MODE: Record<NetView['mode'], string> = {
  cni: 'its own network namespace, networked by CNI',
  none: 'its own network namespace, no CNI network (loopback only)',
  host: "the host's network namespace (--net host): nothing of its own to show",
  joined: 'a network namespace it joined by path',
  gone: 'no live network namespace',
};

export function iface(i: InterfaceView): string {
  const parts = [i.name.padEnd(6), i.up ? 'up' : 'DOWN'];
  if (i.kind) parts.push(i.kind);
  if (i.mac) parts.push(`mac ${i.mac}`);
  parts.push(`mtu ${i.mtu}`);
  if (i.master) parts.push(`master ${i.master}`);
  if (i.addresses.length) parts.push(i.addresses.join(' '));
  return parts.join('  ');
}

export const route = (r: RouteView): string =>
  [r.dst, r.gateway && `via ${r.gateway}`, r.dev && `dev ${r.dev}`, r.scope && `scope ${r.scope}`].filter(Boolean).join(' ');

function chain(label: string, c: ChainView | undefined, out: string[]): void {
  if (!c) {
    out.push(`  ${label.padEnd(11)}none`);
    return;
  }
  out.push(`  ${label.padEnd(11)}-t ${c.table} ${c.chain}`);
  for (const r of [...c.entries, ...c.rules]) out.push(`             ${r}`);
}

function attachment(a: AttachmentView, out: string[]): void {
  out.push('', `network ${a.network} — ${a.ifName}${a.cniVersion ? ` (CNI ${a.cniVersion})` : ''}`);
  out.push(`  cache      ${a.cacheFile}`);
  out.push(`  plugins    ${a.plugins.join(' → ') || '(unknown)'}`);
  out.push(`  container  ${a.container ? iface(a.container) : `${a.ifName} MISSING`}`);
  const gws = a.cached.ips.filter((ip) => ip.gateway).map((ip) => ip.gateway);
  if (gws.length) out.push(`  gateway    ${gws.join(' ')}`);
  if (a.container?.peer) out.push(`  veth pair  ${a.ifName} (ifindex ${a.container.index}) ⇄ host ifindex ${a.container.peer.index}${a.container.peer.netnsId !== undefined ? ` (link-netnsid ${a.container.peer.netnsId})` : ''}`);
  if (a.hostVeth) out.push(`  host veth  ${iface(a.hostVeth)}${a.hostVeth.hairpin !== undefined ? `  hairpin ${a.hostVeth.hairpin ? 'on' : 'off'}` : ''}`);
  else if (a.cached.interfaces.some((i) => !i.sandbox)) out.push('  host veth  MISSING');
  if (a.bridge) out.push(`  bridge     ${iface(a.bridge)}`);
  else if (a.bridgeName) out.push(`  bridge     ${a.bridgeName} MISSING`);
  chain('masquerade', a.masquerade, out);
  chain('portmap', a.portmap, out);
  for (const p of a.ports) {
    const from = `${p.hostIP ?? '*'}:${p.hostPort}/${p.protocol}`;
    out.push(`  published  ${from} → ${p.to ?? `container :${p.containerPort} (NO DNAT RULE)`}`);
  }
  if (a.firewall.length) {
    out.push('  firewall');
    for (const r of a.firewall) out.push(`             ${r}`);
  }
  const d = a.cached.dns;
  if (d) out.push(`  dns        ${[d.nameservers?.length && `nameservers ${d.nameservers.join(' ')}`, d.search?.length && `search ${d.search.join(' ')}`, d.domain && `domain ${d.domain}`].filter(Boolean).join('; ')}`);
  if (a.problems.length) for (const p of a.problems) out.push(`  PROBLEM    ${p}`);
  else out.push('  ok         the cache and the kernel agree');
}

export function renderText(v: NetView): string {
  const out: string[] = [];
  if (v.container) out.push(`container ${v.container.id} (${v.container.status}${v.container.pid ? `, pid ${v.container.pid}` : ''})`);
  out.push(`network: ${MODE[v.mode]}`);
  if (v.netns) {
    out.push(`netns ${v.netns.path}${v.netns.handle ? ` (handle ${v.netns.handle})` : ''}`, '');
    for (const i of v.netns.interfaces) out.push(`  ${iface(i)}`);
    out.push('  routes');
    for (const r of v.netns.routes) out.push(`    ${route(r)}`);
    if (!v.netns.routes.length) out.push('    (none)');
    if (v.netns.defaultGateways.length) out.push(`  default gateway ${v.netns.defaultGateways.join(' ')}`);
  }
  for (const a of v.attachments) attachment(a, out);
  const files = v.dns.filter((d) => d.text !== undefined);
  if (files.length) {
    out.push('', 'dns files');
    for (const d of files) {
      out.push(`  ${d.name} (read from ${d.path})`);
      for (const l of d.text!.trimEnd().split('\n')) out.push(`    ${l}`);
    }
  }
  if (v.notes.length) {
    out.push('');
    for (const n of v.notes) out.push(`note: ${n}`);
  }
  if (v.problems.length) {
    out.push('');
    for (const p of v.problems) out.push(`PROBLEM ${p}`);
  }
  return out.join('\n') + '\n';
}
