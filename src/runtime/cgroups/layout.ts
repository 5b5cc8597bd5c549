import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Which cgroup hierarchies this host has and where they are mounted.
//
//   v2      one cgroup2 mount at <root>                       hierarchies { "": <root> }
//   v1      one mount per controller under <root>            { memory: <root>/memory, … }
//   hybrid  v1 as above plus a cgroup2 mount at <root>/unified  { …, unified: <root>/unified }
//
// v1 keys are controller names; a named hierarchy keeps its "name=" prefix
// ("name=systemd"). Co-mounted controllers ("cpu,cpuacct") share one directory.
// A mount's own root (field 4 of mountinfo) is ignored: paths are taken relative
// to the mount point, which is what the runtime sees without a cgroup namespace.

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupLayout {
  mode: CgroupMode;
  /** hierarchy key → mount point */
  hierarchies: Record<string, string>;
}

/** The v1 controllers the kernel knows; other super options (rw, xattr, …) are mount flags. */
export const V1_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio',
  'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc',
];

interface MountLine {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function parseLine(line: string): MountLine | undefined {
  const fields = line.split(' ');
  const sep = fields.indexOf('-', 6);
  if (sep < 0 || fields.length < sep + 4) return undefined;
  return {
    mountPoint: unescape(fields[4]),
    fsType: fields[sep + 1],
    superOptions: fields[sep + 3].split(','),
  };
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** Pure: the layout described by a mountinfo text, looking only at mounts at or under `root`. */
export function parseMountinfo(text: string, root = '/sys/fs/cgroup'): CgroupLayout | undefined {
  const hierarchies: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const m = parseLine(line);
    if (!m || !within(root, m.mountPoint)) continue;
    if (m.fsType === 'cgroup2') {
      unified ??= m.mountPoint;
    } else if (m.fsType === 'cgroup') {
      for (const opt of m.superOptions) {
        if (V1_CONTROLLERS.includes(opt) || opt.startsWith('name=')) hierarchies[opt] ??= m.mountPoint;
      }
    }
  }
  if (Object.keys(hierarchies).length === 0) {
    return unified === undefined ? undefined : { mode: 'v2', hierarchies: { '': unified } };
  }
  if (unified !== undefined) return { mode: 'hybrid', hierarchies: { ...hierarchies, unified } };
  return { mode: 'v1', hierarchies };
}

/**
 * Layout of a directory tree that is not a mount (a fake root in tests):
 * `<root>/cgroup.controllers` means v2; otherwise every subdirectory holding a
 * `cgroup.procs` is a v1 hierarchy named after the directory ("systemd" is
 * "name=systemd"), and `unified` with `cgroup.controllers` makes it hybrid.
 */
export function probeLayout(root: string): CgroupLayout | undefined {
  if (existsSync(join(root, 'cgroup.controllers'))) return { mode: 'v2', hierarchies: { '': root } };
  const hierarchies: Record<string, string> = {};
  let unified: string | undefined;
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch {
    return undefined;
  }
  for (const name of entries) {
    const dir = join(root, name);
    if (name === 'unified' && existsSync(join(dir, 'cgroup.controllers'))) unified = dir;
    else if (existsSync(join(dir, 'cgroup.procs'))) {
      for (const c of name.split(',')) hierarchies[c === 'systemd' ? 'name=systemd' : c] ??= dir;
    }
  }
  if (Object.keys(hierarchies).length === 0) return undefined;
  if (unified !== undefined) return { mode: 'hybrid', hierarchies: { ...hierarchies, unified } };
  return { mode: 'v1', hierarchies };
}

/** The host's layout from /proc/self/mountinfo; a root that holds no cgroup mount is probed as a plain tree. */
export function detectLayout(root = '/sys/fs/cgroup', mountinfo = '/proc/self/mountinfo'): CgroupLayout | undefined {
  let text = '';
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    // no /proc: fall back to probing
  }
  return parseMountinfo(text, root) ?? probeLayout(root);
}
