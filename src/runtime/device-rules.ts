import type { Device, LinuxResources } from '../spec/types.js';

// The devices cgroup rules a container always gets after the config's own:
// the default device nodes, mknod of anything, ptys, and the config's devices
// (runc does the same, or a config that denies all could not even mknod /dev/null).

type Rule = NonNullable<LinuxResources['devices']>[number];

const ALWAYS: Rule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
] as Rule[];

export function withDefaultDeviceRules(resources: LinuxResources | undefined, devices: Device[] | undefined): LinuxResources | undefined {
  if (!resources?.devices?.length) return resources;
  const fromConfig = (devices ?? [])
    .filter((d) => d.type === 'c' || d.type === 'b')
    .map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' }) as Rule);
  return { ...resources, devices: [...resources.devices, ...ALWAYS, ...fromConfig] };
}
