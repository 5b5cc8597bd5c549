import { z } from 'zod';

// Result shapes per spec version, as zod schemas (the schemas are the types).
// Unknown keys are dropped on parse, as libcni's Go structs do.

export const interfaceSchema = z.object({
  name: z.string(),
  mac: z.string().optional(),
  mtu: z.number().optional(),
  sandbox: z.string().optional(),
  socketPath: z.string().optional(),
  pciID: z.string().optional(),
});

export const routeSchema = z.object({
  dst: z.string(),
  gw: z.string().optional(),
  // 1.1.0 additions; harmless for older versions
  mtu: z.number().optional(),
  advmss: z.number().optional(),
  priority: z.number().optional(),
  table: z.number().optional(),
  scope: z.number().optional(),
});

export const dnsSchema = z.object({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

const ipConfig100 = z.object({
  interface: z.number().int().optional(),
  address: z.string(),
  gateway: z.string().optional(),
});

/** 1.0.0 and 1.1.0 */
export const result100Schema = z.object({
  cniVersion: z.string(),
  interfaces: z.array(interfaceSchema).optional(),
  ips: z.array(ipConfig100).optional(),
  routes: z.array(routeSchema).optional(),
  dns: dnsSchema.optional(),
});

/** 0.3.0, 0.3.1 and 0.4.0: like 1.x, with a "version" on each IP. */
export const result040Schema = z.object({
  cniVersion: z.string(),
  interfaces: z.array(interfaceSchema).optional(),
  ips: z.array(ipConfig100.extend({ version: z.enum(['4', '6']) })).optional(),
  routes: z.array(routeSchema).optional(),
  dns: dnsSchema.optional(),
});

const ip020 = z.object({
  ip: z.string(),
  gateway: z.string().optional(),
  routes: z.array(routeSchema).optional(),
});

/** 0.1.0 and 0.2.0 */
export const result020Schema = z.object({
  cniVersion: z.string(),
  ip4: ip020.optional(),
  ip6: ip020.optional(),
  dns: dnsSchema.optional(),
});

export type Interface = z.infer<typeof interfaceSchema>;
export type Route = z.infer<typeof routeSchema>;
export type Dns = z.infer<typeof dnsSchema>;
export type Result100 = z.infer<typeof result100Schema>;
export type Result040 = z.infer<typeof result040Schema>;
export type Result020 = z.infer<typeof result020Schema>;
export type CniResult = Result100 | Result040 | Result020;
