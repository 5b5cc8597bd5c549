import type { AttachmentView, NetView } from './model.js';

// `tsrun net show --format mermaid`: a flowchart that renders on GitHub and
// in docs: host → bridge → host veth ⇄ the container's interface inside its
// namespace, addresses on the edges, published ports as inbound arrows,
// masquerading as the way out. What the cache names but the kernel lacks is
// drawn dashed and red, marked MISSING.

const q = (s: string): string => `"${s.replace(/"/g, '#quot;')}"`;
const id = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_');

export function renderMermaid(v: NetView): string {
  const out = ['flowchart LR', '  classDef missing stroke:#d00,stroke-width:2px,stroke-dasharray:5 5,color:#d00'];
  const who = v.container ? `container ${v.container.id}` : (v.netns?.path ?? 'netns');
  out.push(`  host((${q('host')}))`);
  if (v.mode === 'host') {
    out.push(`  ctr[${q(`${who}<br/>shares the host's network namespace`)}]`, '  host --- ctr');
    return out.join('\n') + '\n';
  }
  const inside: string[] = [];
  const links: string[] = [];
  const hostNodes = new Map<string, string>();
  v.attachments.forEach((a, n) => drawAttachment(a, n, hostNodes, inside, links));
  for (const i of v.netns?.interfaces ?? []) {
    if (v.attachments.some((a) => a.ifName === i.name)) continue;
    inside.push(`    ns_${id(i.name)}[${q(`${i.name}<br/>${i.addresses.join('<br/>') || 'no address'}`)}]`);
  }
  if (!v.netns && !v.attachments.length) inside.push(`    none[${q(v.mode === 'gone' ? 'no live network namespace' : 'nothing to read')}]`);
  out.push(...[...hostNodes.values()]);
  out.push(`  subgraph netns[${q(`${who} · network namespace`)}]`, ...inside, '  end');
  out.push(...links);
  return out.join('\n') + '\n';
}

function drawAttachment(a: AttachmentView, n: number, hostNodes: Map<string, string>, inside: string[], links: string[]): void {
  const ctr = `c${n}_${id(a.ifName)}`;
  const addrs = a.container?.addresses.filter((x) => !x.startsWith('fe80:')) ?? a.cached.ips.map((ip) => ip.address);
  const ctrText = `${a.ifName} · ${a.network}${a.container?.mac ? `<br/>${a.container.mac}` : ''}${a.container ? '' : '<br/>MISSING'}`;
  inside.push(`    ${ctr}[${q(ctrText)}]${a.container ? '' : ':::missing'}`);

  const brName = a.bridge?.name ?? a.bridgeName ?? a.hostVeth?.master;
  let up = 'host';
  if (brName) {
    const br = `br_${id(brName)}`;
    if (!hostNodes.has(brName)) {
      hostNodes.set(brName, `  ${br}[${q(`${brName} · bridge${a.bridge?.mac ? `<br/>${a.bridge.mac}` : ''}${a.bridge ? '' : '<br/>MISSING'}`)}]${a.bridge ? '' : ':::missing'}`);
      links.push(`  host -->|${q(a.bridge?.addresses.filter((x) => !x.startsWith('fe80:')).join('<br/>') || 'no address')}| ${br}`);
    }
    up = br;
  }
  const cachedHost = a.cached.interfaces.find((i) => !i.sandbox && i.name !== brName);
  const vethName = a.hostVeth?.name ?? cachedHost?.name;
  if (vethName || a.container?.kind === 'veth') {
    const veth = `v${n}_${id(vethName ?? 'veth')}`;
    const hp = a.hostVeth?.hairpin !== undefined ? `<br/>hairpin ${a.hostVeth.hairpin ? 'on' : 'off'}` : '';
    hostNodes.set(`veth ${n}`, `  ${veth}[${q(`${vethName ?? '?'} · veth${hp}${a.hostVeth ? '' : '<br/>MISSING'}`)}]${a.hostVeth ? '' : ':::missing'}`);
    links.push(`  ${up} --- ${veth}`, `  ${veth} <-->|${q(addrs.join('<br/>') || 'veth pair')}| ${ctr}`);
  } else {
    // no veth (macvlan, ipvlan…): the addresses on the edge, else the interface's kind, else no label (mermaid refuses |""|)
    const label = addrs.join('<br/>') || a.container?.kind;
    links.push(`  ${up} -->${label ? `|${q(label)}|` : ''} ${ctr}`);
  }
  a.ports.forEach((p, k) => {
    const port = `p${n}_${k}`;
    links.push(`  ${port}>${q(`${p.hostIP ?? ''}:${p.hostPort}/${p.protocol}`)}]${p.to ? '' : ':::missing'} ==>|${q(p.to ? `DNAT ${p.to}` : 'NO DNAT RULE')}| ${ctr}`);
  });
  if (a.masquerade) links.push(`  ${ctr} -.->|${q(`masquerade ${a.masquerade.chain}`)}| host`);
}
