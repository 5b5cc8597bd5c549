import type { Command } from '../command.js';
import { expectArgs } from '../args.js';
import { ALL_CAPABILITIES } from '../../runtime/capabilities.js';

// `runc features`: what this runtime implements, as the runtime-spec's
// features.md describes, so tools can ask instead of guessing.

export const command: Command = {
  args: '',
  flags: [],
  async run(p, _g, usage) {
    expectArgs(p, [], usage);
    const features = {
      ociVersionMin: '1.0.0',
      ociVersionMax: '1.2.0',
      hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
      mountOptions: ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'dirsync', 'remount',
        'mand', 'nomand', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime',
        'nostrictatime', 'bind', 'rbind', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable',
        'runbindable', 'nosymfollow', 'symfollow', 'lazytime', 'nolazytime'],
      linux: {
        namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
        capabilities: ALL_CAPABILITIES,
        cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
        seccomp: {
          enabled: true,
          actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
          operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
          archs: ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
        },
        apparmor: { enabled: false },
        selinux: { enabled: false },
      },
      annotations: { 'org.tsrun.network': 'a CNI network to attach the container to' },
    };
    process.stdout.write(JSON.stringify(features, null, 2) + '\n');
    return 0;
  },
};
