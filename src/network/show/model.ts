// What `tsrun net show` reports, as data: the text, JSON and mermaid outputs
// are three renderings of one NetView. Live facts (rtnetlink, iptables-save,
// the container's files) sit next to what the CNI cache says should be there;
// every disagreement becomes a line in `problems`.

export interface InterfaceView {
  index: number;
  name: string;
  /** "veth", "bridge", …; absent for plain devices such as lo */
  kind?: string;
  mac?: string;
  mtu: number;
  up: boolean;
  /** "10.99.0.2/24", IPv4 first */
  addresses: string[];
  /** name of the bridge this link is a port of */
  master?: string;
  /** for a veth: the peer's ifindex and the id of the namespace it lives in (as this namespace numbers them) */
  peer?: { index: number; netnsId?: number };
}

export interface RouteView {
  /** "default" or "10.99.0.0/24" */
  dst: string;
  gateway?: string;
  dev?: string;
  /** "link", "host"; absent for universe */
  scope?: string;
}

export interface NetnsView {
  /** the path the namespace was read through */
  path: string;
  /** the ip-netns style handle, when one exists (/run/netns/<id>) */
  handle?: string;
  interfaces: InterfaceView[];
  /** the main table */
  routes: RouteView[];
  /** gateways of the default routes (IPv4 first) */
  defaultGateways: string[];
}

export interface HostVethView extends InterfaceView {
  /** bridge-port hairpin mode; absent when the veth is not a bridge port */
  hairpin?: boolean;
}

/** A rule set of one container: the chain tsrun or the reference plugins made for it, and the rules that jump there. */
export interface ChainView {
  table: 'nat' | 'filter';
  chain: string;
  /** rules elsewhere that jump to the chain (POSTROUTING, CNI-HOSTPORT-DNAT), as iptables-save prints them */
  entries: string[];
  /** the chain's own rules */
  rules: string[];
}

export interface PortView {
  protocol: string;
  hostPort: number;
  containerPort: number;
  hostIP?: string;
  /** the DNAT target found in the kernel ("10.99.0.2:80"); absent when the rule is missing */
  to?: string;
}

export interface AttachmentView {
  network: string;
  ifName: string;
  containerId: string;
  /** the cache entry this attachment was read from */
  cacheFile: string;
  cniVersion?: string;
  /** plugin types in chain order */
  plugins: string[];
  /** what the cached result says */
  cached: {
    interfaces: { name: string; mac?: string; sandbox?: string }[];
    ips: { address: string; gateway?: string }[];
    routes: { dst: string; gw?: string }[];
    dns?: { nameservers?: string[]; search?: string[]; domain?: string; options?: string[] };
  };
  /** the interface in the container's netns, live */
  container?: InterfaceView;
  /** host end of the veth pair, live */
  hostVeth?: HostVethView;
  /** the bridge the chain's bridge plugin names, whether or not it exists */
  bridgeName?: string;
  /** the bridge the host end is enslaved to, live */
  bridge?: InterfaceView;
  masquerade?: ChainView;
  portmap?: ChainView;
  /** published ports: the cached portMappings, each with the DNAT rule found for it */
  ports: PortView[];
  /** other host rules naming the container's addresses (the firewall plugin's, for one) */
  firewall: string[];
  problems: string[];
}

export interface DnsFileView {
  /** the path inside the container */
  name: '/etc/resolv.conf' | '/etc/hosts';
  /** where it was read: the container's view (/proc/PID/root/…) or the file the runtime wrote */
  path?: string;
  text?: string;
}

export interface NetView {
  container?: { id: string; status: string; pid?: number };
  /**
   * cni: its own netns, networked by CNI; none: its own netns, loopback only;
   * host: the host's netns; joined: a netns it was given by path;
   * gone: no live netns to read (a stopped container)
   */
  mode: 'cni' | 'none' | 'host' | 'joined' | 'gone';
  netns?: NetnsView;
  attachments: AttachmentView[];
  dns: DnsFileView[];
  /** problems not tied to one attachment */
  problems: string[];
  /** facts worth knowing that are not problems (a stopped container's netns kept by its handle) */
  notes: string[];
}
