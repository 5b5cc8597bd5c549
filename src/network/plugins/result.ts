import type { CniResult, Result040, Result100 } from '../cni/result/types.js';
import { resultFamily, type CniVersion } from '../cni/version.js';
import { cniError } from './errors.js';

// Result version handling without zod: importing the zod schemas costs ~110 ms
// per plugin process (measured), more than everything else the executable
// loads. The 1.x and 0.3/0.4 shapes differ only by ips[].version, so those are
// mapped here; only the rare 0.1/0.2 results load the full converter.

const v6 = (address: string): boolean => address.includes(':');

export async function fromV1(r: Result100, to: CniVersion): Promise<CniResult> {
  switch (resultFamily(to)) {
    case '100':
      return { ...r, cniVersion: to };
    case '040':
      return { ...r, cniVersion: to, ips: r.ips?.map((ip) => ({ ...ip, version: v6(ip.address) ? ('6' as const) : ('4' as const) })) } as Result040;
    case '020':
      return (await import('../cni/result/convert.js')).convertResult(r, to);
  }
}

/** Any version's result (prevResult, an IPAM reply) in the 1.x shape. */
export async function toV1(raw: unknown, version: CniVersion): Promise<Result100> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw cniError('result is not a JSON object');
  const r = { cniVersion: version, ...(raw as Record<string, unknown>) } as CniResult;
  const family = resultFamily(r.cniVersion as CniVersion);
  if (family === '100') return { ...(r as Result100), cniVersion: '1.0.0' };
  if (family === '040') {
    const old = r as Result040;
    return { ...old, cniVersion: '1.0.0', ips: old.ips?.map(({ version: _v, ...ip }) => ip) } as Result100;
  }
  const { convertResult, parseResult } = await import('../cni/result/convert.js');
  return convertResult(parseResult(raw, version), '1.0.0') as Result100;
}
