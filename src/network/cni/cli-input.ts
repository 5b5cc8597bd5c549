import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { TsrunError } from '../../errors.js';
import type { RuntimeConf } from './invoke.js';

// Turning cnitool-style command-line input into a RuntimeConf.

/** "K=V;K2=V2" → pairs (CNI_ARGS format). */
export function parseCniArgs(s: string | undefined): [string, string][] {
  if (!s) return [];
  return s
    .split(';')
    .filter(Boolean)
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new TsrunError('BAD_INPUT', `--args: "${kv}" is not KEY=VALUE`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    });
}

export function parseCapArgs(s: string | undefined): Record<string, unknown> {
  if (!s) return {};
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    throw new TsrunError('BAD_INPUT', `--cap-args: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TsrunError('BAD_INPUT', '--cap-args: expected a JSON object');
  return v as Record<string, unknown>;
}

/**
 * A bare NETNS name means /run/netns/NAME. Without a container id, the id is
 * derived from the netns path as cnitool does ("cnitool-" + sha512 prefix), so
 * add and del of the same netns agree.
 */
export function runtimeConfFor(
  netns: string | undefined,
  o: { containerId?: string; ifName?: string; args: [string, string][]; capabilityArgs: Record<string, unknown> },
): RuntimeConf {
  if (!netns) throw new TsrunError('BAD_INPUT', 'expected NETNS (a name under /run/netns or a path)');
  const path = netns.includes('/') ? resolve(netns) : `/run/netns/${netns}`;
  const containerId = o.containerId || `cnitool-${createHash('sha512').update(path).digest('hex').slice(0, 20)}`;
  return { containerId, netns: path, ifName: o.ifName || 'eth0', args: o.args, capabilityArgs: o.capabilityArgs };
}
