// CNI spec versions tsrun understands, and how to compare them.

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

function parts(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`invalid CNI version "${v}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** The three result shapes the spec has had: 0.1/0.2, 0.3/0.4, and 1.x. */
export type ResultFamily = '020' | '040' | '100';

export function resultFamily(v: CniVersion): ResultFamily {
  if (v === '0.1.0' || v === '0.2.0') return '020';
  if (v === '1.0.0' || v === '1.1.0') return '100';
  return '040';
}
