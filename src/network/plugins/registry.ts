import type { Plugin } from './skel.js';

// The built-in plugins by CNI type, loaded on first use (all at once: see
// builtins.ts), so a command that runs no chain does not load them.

const builtins = () => import('./builtins.js');
const loaders: Record<string, () => Promise<Plugin>> = {
  loopback: async () => (await builtins()).loopback,
  'host-local': async () => (await builtins()).hostLocal(),
  bridge: async () => (await builtins()).bridge,
  ptp: async () => (await builtins()).ptp,
  portmap: async () => (await builtins()).portmap,
  firewall: async () => (await builtins()).firewall,
};

export const BUILTIN_TYPES = (): string[] => Object.keys(loaders);

export function isBuiltin(type: string): boolean {
  return Object.hasOwn(loaders, type);
}

export async function loadPlugin(type: string): Promise<Plugin | undefined> {
  return isBuiltin(type) ? loaders[type]!() : undefined;
}
