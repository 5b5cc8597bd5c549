import { TsrunError } from '../../errors.js';
import type { CgroupLayout } from './layout.js';

// linux.cgroupsPath, the cgroupfs way (runc's rules, simplified):
//   absolute "/a/b"   → <hierarchy mount>/a/b in every hierarchy
//   relative "a/b"    → /tsrun/a/b (runc puts it under its own cgroup; a fixed parent
//                       is easier to find and clean up)
//   empty / missing   → /tsrun/<container id>
//   "slice:prefix:name" is the systemd driver's form → NOT_SUPPORTED.
// ".." is rejected, "." and repeated slashes are dropped, the root cgroup itself is refused.

export const DEFAULT_PARENT = '/tsrun';

const JSON_PATH = 'linux.cgroupsPath';

function isSystemdStyle(p: string): boolean {
  const parts = p.split(':');
  return parts.length === 3 && !p.startsWith('/');
}

function clean(p: string, shown: string): string[] {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new TsrunError('SPEC_INVALID', `${JSON_PATH}: ".." is not allowed in a cgroup path, got ${JSON.stringify(shown)}`, {
        jsonPath: JSON_PATH,
      });
    }
    parts.push(part);
  }
  return parts;
}

/** The cgroup's path inside each hierarchy, always absolute and normalised ("/tsrun/abc"). */
export function resolveCgroupPath(id: string, cgroupsPath?: string): string {
  const given = cgroupsPath ?? '';
  if (isSystemdStyle(given)) {
    throw new TsrunError('NOT_SUPPORTED', `${JSON_PATH}: ${JSON.stringify(given)} is a systemd "slice:prefix:name" path, and tsrun only manages cgroupfs`, {
      jsonPath: JSON_PATH,
      hint: 'use a plain path such as "/tsrun/<id>" (or leave linux.cgroupsPath unset), and do not pass --systemd-cgroup',
    });
  }
  let parts: string[];
  if (given === '') {
    if (id === '' || id.includes('/') || id === '.' || id === '..') {
      throw new TsrunError('BAD_INPUT', `container id ${JSON.stringify(id)} cannot name a cgroup`);
    }
    parts = [...clean(DEFAULT_PARENT, DEFAULT_PARENT), id];
  } else if (given.startsWith('/')) {
    parts = clean(given, given);
  } else {
    parts = [...clean(DEFAULT_PARENT, DEFAULT_PARENT), ...clean(given, given)];
  }
  if (parts.length === 0) {
    throw new TsrunError('SPEC_INVALID', `${JSON_PATH}: ${JSON.stringify(given)} names the root cgroup`, {
      jsonPath: JSON_PATH,
      hint: 'give the container a cgroup of its own, e.g. "/tsrun/<id>"',
    });
  }
  return `/${parts.join('/')}`;
}

/** hierarchy key → absolute directory of the cgroup in it. */
export function hierarchyPaths(layout: CgroupLayout, cgroupPath: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, mount] of Object.entries(layout.hierarchies)) {
    out[key] = mount.replace(/\/+$/, '') + cgroupPath;
  }
  return out;
}
