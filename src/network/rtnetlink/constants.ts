// rtnetlink numbers from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>
// and <linux/if_addr.h>; names follow the headers so they can be looked up.

export const AF = { UNSPEC: 0, INET: 2, BRIDGE: 7, INET6: 10, NETLINK: 16 } as const;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;
export const SOL_NETLINK = 270;
export const NETLINK_EXT_ACK = 11;

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNSID: 88, GETNSID: 90,
} as const;

export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4,
  DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400,
  /** in an NLMSG_ERROR reply: extended-ack attributes follow */
  ACK_TLVS: 0x200,
  CAPPED: 0x100,
} as const;

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3 } as const;
export const NLMSGERR_ATTR_MSG = 1;
export const NLA_F_NESTED = 0x8000;

export const IFLA = {
  ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, PROTINFO: 12, LINKINFO: 18,
  NET_NS_FD: 28, PROMISCUITY: 30, LINK_NETNSID: 37,
} as const;
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_BRPORT_MODE = 4; // hairpin

/** RTM_GETNSID/RTM_NEWNSID attributes (<linux/net_namespace.h>) */
export const NETNSA = { NSID: 1, FD: 3 } as const;

export const IFF = { UP: 0x1, LOOPBACK: 0x8, PROMISC: 0x100, LOWER_UP: 0x10000 } as const;

export const IFA = { ADDRESS: 1, LOCAL: 2, BROADCAST: 4, FLAGS: 8 } as const;
export const IFA_F = { NODAD: 0x02, DADFAILED: 0x08, TENTATIVE: 0x40, PERMANENT: 0x80 } as const;

export const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
export const RT_TABLE_MAIN = 254;
export const RTPROT = { KERNEL: 2, BOOT: 3, STATIC: 4 } as const;
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
export const RTN_UNICAST = 1;
