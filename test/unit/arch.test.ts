import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AARCH64, X86_64, archTable } from '../../src/sys/arch.js';
import { O, STAT_LAYOUT, SYS } from '../../src/sys/constants.js';
import { TsrunError } from '../../src/errors.js';

// The per-architecture tables against the kernel's own numbers
// (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h,
// arch/arm/include/uapi/asm/fcntl.h, asm-generic/stat.h), and the table of
// this machine against what its kernel and libc really do.

describe('syscall numbers and layouts per architecture', () => {
  it.each([
    ['x86_64', X86_64, { pivot_root: 155, seccomp: 317, open_tree: 428, move_mount: 429, openat2: 437, mount_setattr: 442 }],
    ['aarch64', AARCH64, { pivot_root: 41, seccomp: 277, open_tree: 428, move_mount: 429, openat2: 437, mount_setattr: 442 }],
  ])('%s: syscall numbers', (_name, table, numbers) => {
    expect(table.sys).toEqual(numbers);
  });

  it('open(2) flags that differ: O_DIRECTORY and O_NOFOLLOW', () => {
    expect(X86_64.openFlags).toEqual({ DIRECTORY: 0o200000, NOFOLLOW: 0o400000 });
    expect(AARCH64.openFlags).toEqual({ DIRECTORY: 0o40000, NOFOLLOW: 0o100000 });
  });

  it('struct stat: st_mode, st_uid, st_gid, st_rdev, st_size offsets and size', () => {
    expect(X86_64.stat).toEqual({ bytes: 144, st_mode: 24, st_uid: 28, st_gid: 32, st_rdev: 40, st_size: 48 });
    expect(AARCH64.stat).toEqual({ bytes: 128, st_mode: 16, st_uid: 24, st_gid: 28, st_rdev: 32, st_size: 48 });
  });

  it('picks the table by process.arch, and refuses any other architecture with a clear error', () => {
    expect(archTable('x64')).toBe(X86_64);
    expect(archTable('arm64')).toBe(AARCH64);
    for (const arch of ['ia32', 's390x', 'riscv64', 'ppc64']) {
      expect(() => archTable(arch)).toThrowError(TsrunError);
      expect(() => archTable(arch)).toThrowError(`unsupported architecture "${arch}": tsrun knows the syscall numbers and struct layouts of x86_64 and aarch64 only`);
    }
    expect(SYS).toBe(archTable().sys);
    expect(STAT_LAYOUT).toBe(archTable().stat);
    expect([O.DIRECTORY, O.NOFOLLOW]).toEqual([archTable().openFlags.DIRECTORY, archTable().openFlags.NOFOLLOW]);
  });
});

describe('this machine\'s table against its kernel', async () => {
  const { KoffiSyscalls } = await import('../../src/sys/koffi.js');
  const sys = new KoffiSyscalls();

  it('x86_64 numbers match the installed kernel headers', () => {
    let header = '';
    try {
      header = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
    } catch {
      return; // headers not installed: the table test above still holds
    }
    for (const [name, nr] of Object.entries(X86_64.sys)) expect(header).toMatch(new RegExp(`#define __NR_${name} ${nr}\\n`));
  });

  it('fstat through the layout reads mode, owner and rdev as Node\'s stat does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-arch-'));
    try {
      const file = join(dir, 'f');
      writeFileSync(file, 'x', { mode: 0o640 });
      for (const path of ['/dev/null', file, dir]) {
        const fd = sys.open(path, O.PATH | O.CLOEXEC);
        try {
          const st = sys.fstat(fd);
          const node = statSync(path);
          expect({ mode: st.mode, uid: st.uid, gid: st.gid, rdev: Number(st.rdev) }).toEqual({ mode: node.mode, uid: node.uid, gid: node.gid, rdev: node.rdev });
        } finally {
          sys.close(fd);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('O_DIRECTORY and O_NOFOLLOW mean what the kernel means by them', () => {
    expect(() => sys.open('/dev/null', O.RDONLY | O.DIRECTORY | O.CLOEXEC)).toThrowError(/ENOTDIR/);
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-arch-'));
    try {
      const link = join(dir, 'l');
      writeFileSync(join(dir, 't'), '');
      sys.symlinkat('t', -100, link);
      expect(() => sys.open(link, O.RDONLY | O.NOFOLLOW | O.CLOEXEC)).toThrowError(/ELOOP/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
