import * as z from 'zod/mini';

// Result shapes per spec version, as zod schemas (the schemas are the types).
// Unknown keys are dropped on parse, as libcni's Go structs do. zod/mini, as src/spec/.

export const interfaceSchema = z.object({
  name: z.string(),
  mac: z.optional(z.string()),
  mtu: z.optional(z.number()),
  sandbox: z.optional(z.string()),
  socketPath: z.optional(z.string()),
  pciID: z.optional(z.string()),
});

export const routeSchema = z.object({
  dst: z.string(),
  gw: z.optional(z.string()),
  // 1.1.0 additions; harmless for older versions
  mtu: z.optional(z.number()),
  advmss: z.optional(z.number()),
  priority: z.optional(z.number()),
  table: z.optional(z.number()),
  scope: z.optional(z.number()),
});

export const dnsSchema = z.object({
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

const ipConfig100 = z.object({
  interface: z.optional(z.int()),
  address: z.string(),
  gateway: z.optional(z.string()),
});

/** 1.0.0 and 1.1.0 */
export const result100Schema = z.object({
  cniVersion: z.string(),
  interfaces: z.optional(z.array(interfaceSchema)),
  ips: z.optional(z.array(ipConfig100)),
  routes: z.optional(z.array(routeSchema)),
  dns: z.optional(dnsSchema),
});

/** 0.3.0, 0.3.1 and 0.4.0: like 1.x, with a "version" on each IP. */
export const result040Schema = z.object({
  cniVersion: z.string(),
  interfaces: z.optional(z.array(interfaceSchema)),
  ips: z.optional(z.array(z.extend(ipConfig100, { version: z.enum(['4', '6']) }))),
  routes: z.optional(z.array(routeSchema)),
  dns: z.optional(dnsSchema),
});

const ip020 = z.object({
  ip: z.string(),
  gateway: z.optional(z.string()),
  routes: z.optional(z.array(routeSchema)),
});

/** 0.1.0 and 0.2.0 */
export const result020Schema = z.object({
  cniVersion: z.string(),
  ip4: z.optional(ip020),
  ip6: z.optional(ip020),
  dns: z.optional(dnsSchema),
});

export type Interface = z.infer<typeof interfaceSchema>;
export type Route = z.infer<typeof routeSchema>;
export type Dns = z.infer<typeof dnsSchema>;
export type Result100 = z.infer<typeof result100Schema>;
export type Result040 = z.infer<typeof result040Schema>;
export type Result020 = z.infer<typeof result020Schema>;
export type CniResult = Result100 | Result040 | Result020;
