import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, type Runtime } from '../helpers/differential.js';

// A strict profile (default SCMP_ACT_ERRNO with defaultErrnoRet) that names
// every x86_64 syscall up to 434 but getppid, plus a name no libseccomp knows:
// the container runs; getppid gets the default errno; syscalls numbered above
// 434 (clone3, 1000) get ENOSYS, as on an older kernel — runc's behaviour, so
// glibc's fallbacks keep working under old profiles. A static probe calls
// each number with syscall(2) and prints the errno's name.

const d = new Differential('scrunc');
afterAll(() => expect(d.finish()).toEqual([]));

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];
let probeDir = '';

beforeAll(() => {
  probeDir = d.scratch.mkdir('probe');
  const src = join(probeDir, 'probe.c');
  writeFileSync(
    src,
    [
      '#define _GNU_SOURCE',
      '#include <errno.h>',
      '#include <stdio.h>',
      '#include <stdlib.h>',
      '#include <string.h>',
      '#include <unistd.h>',
      'int main(int argc, char **argv) {',
      '  for (int i = 1; i < argc; i++) {',
      '    long r = syscall(atol(argv[i]), 0, 0, 0, 0, 0, 0);',
      '    printf("%s=%s\\n", argv[i], r < 0 ? strerrorname_np(errno) : "ok");',
      '  }',
      '  return 0;',
      '}',
    ].join('\n'),
  );
  const cc = spawnSync('cc', ['-static', '-O2', '-o', join(probeDir, 'probe'), src], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
});

/** x86_64 syscall names up to `max` from the kernel headers, but `except`. */
function syscallNames(max: number, except: string[]): string[] {
  const text = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
  return [...text.matchAll(/#define __NR_(\w+) (\d+)/g)].filter((m) => Number(m[2]) <= max && !except.includes(m[1]!)).map((m) => m[1]!);
}

const strictProfile = (c: Config) => {
  c.process.noNewPrivileges = true;
  c.mounts.push({ destination: '/mnt', type: 'bind', source: probeDir, options: ['rbind', 'ro'] });
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 13,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: [...syscallNames(434, ['getppid']), 'tsrun_no_such_syscall'], action: 'SCMP_ACT_ALLOW' }],
  };
};

describe.skipIf(process.arch !== 'x64')('seccomp: unknown names, ENOSYS above the profile, defaultErrnoRet (as runc)', () => {
  it('clone3 and 1000 get ENOSYS, an unlisted older syscall the default errno, a listed one runs; runc alike', () => {
    const out: Partial<Record<Runtime, string>> = {};
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'enosys', ['/mnt/probe', '435', '1000', '110', '39'], strictProfile);
      const r = d.run(rt, ['run', '-b', b, d.id(rt, 'enosys')]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      out[rt] = r.stdout;
    }
    expect(out.tsrun).toBe('435=ENOSYS\n1000=ENOSYS\n110=EACCES\n39=ok\n');
    if (out.runc !== undefined) expect(out.tsrun).toBe(out.runc);
  });

  it('a container with a user namespace (the Node init loads the filter) gets the same answers', () => {
    // The mapped root must reach the probe through the scratch dir.
    chmodSync(d.scratch.dir, 0o755);
    const b = d.bundle('tsrun', 'userns', ['/mnt/probe', '435', '1000', '110', '39'], (c: Config) => {
      strictProfile(c);
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 210000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 210000, size: 65536 }];
    });
    const r = d.run('tsrun', ['run', '-b', b, d.id('tsrun', 'userns')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('435=ENOSYS\n1000=ENOSYS\n110=EACCES\n39=ok\n');
  });

  it('with a permissive default nothing changes: an unlisted syscall runs as the kernel has it', () => {
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'allow', ['/mnt/probe', '1000', '110'], (c: Config) => {
        strictProfile(c);
        c.linux.seccomp.defaultAction = 'SCMP_ACT_ALLOW';
        c.linux.seccomp.syscalls = [{ names: ['mkdir', 'tsrun_no_such_syscall'], action: 'SCMP_ACT_ERRNO' }];
      });
      const r = d.run(rt, ['run', '-b', b, d.id(rt, 'allow')]);
      expect(r.stdout).toBe('1000=ENOSYS\n110=ok\n');
    }
  });
});
