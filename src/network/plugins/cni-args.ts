import { CNI_CODE, cniError } from './errors.js';

// CNI_ARGS ("K=V;K2=V2"). Like the reference's types.LoadArgs, a key the
// plugin does not know is an error unless IgnoreUnknown is set (code 999, as there).

export function parseCniArgs(raw: string, known: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const pairs = raw.split(';').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    if (i < 0) throw cniError(`ARGS: invalid pair "${p}"`, CNI_CODE.INTERNAL);
    return [p.slice(0, i), p.slice(i + 1)] as const;
  });
  const ignore = pairs.some(([k, v]) => k === 'IgnoreUnknown' && /^(1|true)$/i.test(v));
  const unknown: string[] = [];
  for (const [k, v] of pairs) {
    if (known.includes(k) || k === 'IgnoreUnknown') out[k] = v;
    else unknown.push(k);
  }
  if (unknown.length && !ignore) throw cniError(`ARGS: unknown args ${JSON.stringify(unknown)}`, CNI_CODE.INTERNAL);
  return out;
}
