import { TsrunError } from '../../../errors.js';
import { describeIssue } from '../../../spec/issues.js';
import { isSupportedVersion, resultFamily, type CniVersion } from '../version.js';
import {
  result020Schema,
  result040Schema,
  result100Schema,
  type CniResult,
  type Result020,
  type Result040,
  type Result100,
  type Route,
} from './types.js';

// Results travel between versions through the 1.x shape as the hub:
// parse any version → toV100 → fromV100(target). Like libcni's converter
// registry, but with one hub there are only two functions per family.

const isV6 = (address: string): boolean => address.includes(':');

/** Parses a plugin's result; a result without cniVersion takes the config's (libcni does the same). */
export function parseResult(raw: unknown, configVersion: string): CniResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TsrunError('CNI_PLUGIN', 'result is not a JSON object');
  }
  const withVersion = { cniVersion: configVersion, ...(raw as Record<string, unknown>) };
  const version = String(withVersion.cniVersion);
  if (!isSupportedVersion(version)) {
    throw new TsrunError('CNI_PLUGIN', `result has unsupported cniVersion "${version}"`);
  }
  const schema = { '020': result020Schema, '040': result040Schema, '100': result100Schema }[resultFamily(version)];
  const parsed = schema.safeParse(withVersion, { error: describeIssue });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TsrunError('CNI_PLUGIN', `invalid ${version} result at ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
      jsonPath: issue.path.join('.'),
    });
  }
  return parsed.data;
}

export function convertResult(result: CniResult, to: CniVersion): CniResult {
  if (result.cniVersion === to) return result;
  return fromV100(toV100(result), to);
}

function toV100(r: CniResult): Result100 {
  const v = r.cniVersion as CniVersion;
  switch (resultFamily(v)) {
    case '100':
      return r as Result100;
    case '040': {
      const old = r as Result040;
      return { ...old, cniVersion: '1.0.0', ips: old.ips?.map(({ version: _v, ...ip }) => ip) };
    }
    case '020': {
      const old = r as Result020;
      const ips: NonNullable<Result100['ips']> = [];
      const routes: Route[] = [];
      for (const ip of [old.ip4, old.ip6]) {
        if (!ip) continue;
        ips.push({ address: ip.ip, ...(ip.gateway ? { gateway: ip.gateway } : {}) });
        routes.push(...(ip.routes ?? []));
      }
      return { cniVersion: '1.0.0', ips, routes, ...(old.dns ? { dns: old.dns } : {}) };
    }
  }
}

function fromV100(r: Result100, to: CniVersion): CniResult {
  switch (resultFamily(to)) {
    case '100':
      return { ...r, cniVersion: to };
    case '040':
      return {
        ...r,
        cniVersion: to,
        ips: r.ips?.map((ip) => ({ ...ip, version: isV6(ip.address) ? ('6' as const) : ('4' as const) })),
      };
    case '020': {
      // 0.2.0 holds one address per family: the first of each, with the
      // routes of that family (what libcni's converter does).
      const out: Result020 = { cniVersion: to, ...(r.dns ? { dns: r.dns } : {}) };
      for (const ip of r.ips ?? []) {
        const key = isV6(ip.address) ? 'ip6' : 'ip4';
        if (out[key]) continue;
        const routes = (r.routes ?? []).filter((rt) => isV6(rt.dst) === (key === 'ip6'));
        out[key] = { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), ...(routes.length ? { routes } : {}) };
      }
      if (!out.ip4 && !out.ip6) {
        throw new TsrunError('CNI_PLUGIN', `cannot convert result to ${to}: it has no IP address`);
      }
      return out;
    }
  }
}
