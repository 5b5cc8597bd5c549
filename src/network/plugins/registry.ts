import type { Plugin } from './skel.js';

// The built-in plugins by CNI type, loaded on first use so a chain that uses
// one plugin does not pay for the others.

const loaders: Record<string, () => Promise<Plugin>> = {
  loopback: async () => (await import('./loopback.js')).loopback,
  'host-local': async () => (await import('./host-local/index.js')).hostLocal(),
  bridge: async () => (await import('./bridge.js')).bridge,
  ptp: async () => (await import('./ptp.js')).ptp,
  portmap: async () => (await import('./portmap/index.js')).portmap,
  firewall: async () => (await import('./firewall/index.js')).firewall,
};

export const BUILTIN_TYPES = (): string[] => Object.keys(loaders);

export function isBuiltin(type: string): boolean {
  return Object.hasOwn(loaders, type);
}

export async function loadPlugin(type: string): Promise<Plugin | undefined> {
  return isBuiltin(type) ? loaders[type]!() : undefined;
}
