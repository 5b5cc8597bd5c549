import { describe, expect, it } from 'vitest';
import { defaultSpec } from '../../src/spec/defaults.js';
import { findJsonSyntaxProblem } from '../../src/spec/json-position.js';

describe('defaultSpec', () => {
  const spec = defaultSpec();

  it('matches what runc spec writes', () => {
    expect(spec.ociVersion).toBe('1.2.0');
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    expect(spec.hostname).toBe('tsrun');
    expect(spec.process).toMatchObject({
      terminal: true,
      args: ['sh'],
      cwd: '/',
      noNewPrivileges: true,
      user: { uid: 0, gid: 0 },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    });
    expect(spec.process?.env).toContain('TERM=xterm');
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    expect(spec.process?.capabilities).toEqual({ bounding: caps, effective: caps, permitted: caps });
    expect(spec.mounts?.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(spec.mounts?.find((m) => m.destination === '/dev/pts')?.options).toContain('gid=5');
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(spec.linux?.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux?.readonlyPaths).toContain('/proc/sysrq-trigger');
    expect(spec.linux?.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
  });

  it('takes args and terminal', () => {
    expect(defaultSpec({ args: ['/bin/true'], terminal: false }).process).toMatchObject({ args: ['/bin/true'], terminal: false });
  });

  it('returns fresh objects each call', () => {
    defaultSpec().process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    expect(defaultSpec().process?.capabilities?.bounding).toHaveLength(3);
  });

  it('rootless: user namespace for the caller, no network namespace, sysfs bound, no uid/gid options', () => {
    const rootless = defaultSpec({ rootless: true });
    const types = rootless.linux?.namespaces?.map((n) => n.type);
    expect(types).toEqual(['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
    expect(rootless.linux?.uidMappings).toEqual([{ containerID: 0, hostID: process.geteuid?.(), size: 1 }]);
    expect(rootless.linux?.gidMappings).toEqual([{ containerID: 0, hostID: process.getegid?.(), size: 1 }]);
    expect(rootless.mounts?.find((m) => m.destination === '/sys')).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    for (const m of rootless.mounts ?? []) expect(m.options?.some((o) => /^(uid|gid)=/.test(o)) ?? false).toBe(false);
    expect(rootless.linux?.resources).toBeUndefined();
  });
});

describe('findJsonSyntaxProblem', () => {
  it.each([
    ['{"a": 1}', undefined],
    ['[1, 2.5e3, true, null, "x\\u00e9"]', undefined],
    ['{"a": }', { line: 1, column: 7, reason: 'unexpected "}", expected a value' }],
    ['{\n "a": tru\n}', { line: 2, column: 7, reason: 'unexpected "t", expected a value' }],
    ['{"a": 1,\n}', { line: 2, column: 1, reason: 'unexpected "}", expected a string' }],
    ['{"a": 1} x', { line: 1, column: 10, reason: 'unexpected "x", expected end of input' }],
    ['"tab\there"', { line: 1, column: 5, reason: 'unexpected "\\t", expected a closing quote or a valid escape' }],
    ['', { line: 1, column: 1, reason: 'unexpected end of input, expected a value' }],
  ])('%j', (text, expected) => {
    const problem = findJsonSyntaxProblem(text);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatchObject(expected);
  });
});
