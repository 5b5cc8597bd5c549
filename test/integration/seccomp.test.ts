import { afterAll, describe, expect, it } from 'vitest';
import { Scratch, tsrun, type Config } from '../helpers/bundle.js';

// seccomp through libseccomp: a profile's errno and kill actions as the
// container's process sees them.

const s = new Scratch('seccomp');
afterAll(() => s.remove());

const withProfile = (args: string[], syscalls: unknown[], nnp = true) =>
  s.bundle(args, (c: Config) => {
    c.process.noNewPrivileges = nnp;
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls };
  });

describe('seccomp', () => {
  it('SCMP_ACT_ERRNO makes mkdir fail with "Operation not permitted" while the rest runs', () => {
    const b = withProfile(['sh', '-c', 'mkdir /dev/shm/x; echo after'], [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }]);
    const r = tsrun(s.root, ['run', '-b', b, 'sc-errno']);
    expect(r.stderr).toContain('Operation not permitted');
    expect(r.stdout).toContain('after');
    expect(r.code).toBe(0);
  });

  it('loads before the credentials change when no_new_privs is off, and reports the filter in /proc', () => {
    const b = withProfile(['sh', '-c', 'grep Seccomp: /proc/self/status'], [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }], false);
    const r = tsrun(s.root, ['run', '-b', b, 'sc-nonnp']);
    expect(r.stdout).toMatch(/Seccomp:\s+2/);
    expect(r.code).toBe(0);
  });

  it('SCMP_ACT_KILL_PROCESS kills the container process with SIGSYS (exit 128+31)', () => {
    const b = withProfile(['sh', '-c', 'echo $PPID'], [{ names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' }]);
    const r = tsrun(s.root, ['run', '-b', b, 'sc-kill']);
    expect(r.code).toBe(128 + 31);
  });

  it('an unknown action fails create with the JSON path, and leaves no state', () => {
    const b = withProfile(['true'], [{ names: ['mkdir'], action: 'SCMP_ACT_SOMETIMES' }]);
    const r = tsrun(s.root, ['create', '-b', b, 'sc-bad']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('linux.seccomp.syscalls[0].action');
    expect(tsrun(s.root, ['list', '-q']).stdout.trim()).toBe('');
  });
});
