import type { Mount, Namespace, Spec } from './types.js';

// What `runc spec` writes (runc's libcontainer/specconv Example and
// ToRootless), with tsrun's hostname and the cgroup namespace always on.

/** The runtime-spec version tsrun implements. */
export const SPEC_VERSION = '1.2.0';

export interface DefaultSpecOptions {
  rootless?: boolean;
  args?: string[];
  terminal?: boolean;
}

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
  '/sys/devices/virtual/tpm',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

const NAMESPACES: Namespace['type'][] = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'];

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: opts.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: NAMESPACES.map((type) => ({ type })),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  return opts.rootless ? toRootless(spec) : spec;
}

/** Like `runc spec --rootless`: map only the caller's ids, keep the host network, no cgroup limits. */
function toRootless(spec: Spec): Spec {
  const linux = spec.linux ?? {};
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user');
  const mounts = (spec.mounts ?? []).map((m): Mount => {
    // A sysfs mount needs a network namespace the user owns; bind the host's read-only instead.
    if (m.destination === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    // uid=/gid= options name ids that do not exist in a one-id user namespace.
    const options = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return options ? { ...m, options } : m;
  });
  const { resources: _dropped, ...rest } = linux;
  return {
    ...spec,
    mounts,
    linux: {
      ...rest,
      namespaces: [...namespaces, { type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    },
  };
}
