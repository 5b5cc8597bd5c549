import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { SyscallError, type Syscalls } from '../../src/sys/syscalls.js';
import { AT, O, RESOLVE } from '../../src/sys/constants.js';
import { ensureFileInRoot, inRootPath, mkdirAllInRoot, openInRoot, openRootfs, removeMadeInRoot } from '../../src/common/in-root.js';

// Paths in the rootfs are resolved by the kernel through an fd of the rootfs.
// First the calls on the fake, in order; then the real kernel on a temp
// "rootfs" full of escaping symlinks (no root needed), with openat2 and with
// the fallback walk used where openat2 is missing, which must agree.

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
const PATH = O.PATH | O.CLOEXEC;
const steps = (sys: FakeSyscalls) => sys.calls.map((c) => [c.name, ...c.args]);

describe('in-root resolution on the fake', () => {
  it('cleans a path lexically, never above the root', () => {
    expect(['/', '', '/a/../b/', 'a//b/./c', '/../../etc', '..'].map(inRootPath)).toEqual(['.', '.', 'b', 'a/b/c', 'etc', '.']);
  });

  it('cleans as path.posix.normalize of "/" + the path does, without its leading and trailing slashes', () => {
    const byNormalize = (p: string) => posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '') || '.';
    const paths = ['a/b/../../..', './.', '.../a', 'a/..b/c', 'a/b/..', '//a//b//', 'a/./../b/./c/..', '..a', 'a/...', 'dev/pts/', '/proc/sys/../sys/.', '../a/../../b/c'];
    for (const p of paths) expect(inRootPath(p), p).toBe(byNormalize(p));
  });

  it('openInRoot: one openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS on the rootfs fd', () => {
    const sys = new FakeSyscalls();
    openInRoot(sys, 7, '/etc/../proc/');
    openInRoot(sys, 7, '/proc/kcore', { noFollow: true });
    expect(steps(sys)).toEqual([
      ['openat2', 7, 'proc', PATH, 0, IN_ROOT],
      ['openat2', 7, 'proc/kcore', PATH | O.NOFOLLOW, 0, IN_ROOT],
    ]);
  });

  it('mkdirAllInRoot: the missing components made with mkdirat on their parent\'s fd, each found again in the root', () => {
    const sys = new FakeSyscalls().failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'a/b/c').failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'a/b');
    const fd = mkdirAllInRoot(sys, 7, '/a/b/c');
    expect(steps(sys)).toEqual([
      ['openat2', 7, 'a/b/c', PATH, 0, IN_ROOT],
      ['openat2', 7, 'a/b', PATH, 0, IN_ROOT],
      ['openat2', 7, 'a', PATH, 0, IN_ROOT],
      ['mkdirat', 100, 'b', 0o755],
      ['close', 100],
      ['openat2', 7, 'a/b', PATH, 0, IN_ROOT],
      ['mkdirat', 101, 'c', 0o755],
      ['close', 101],
      ['openat2', 7, 'a/b/c', PATH, 0, IN_ROOT],
    ]);
    expect(sys.fdPaths.get(fd)).toBe('a/b/c');
  });

  it('ensureFileInRoot: a missing file is created O_CREAT|O_EXCL|O_NOFOLLOW on its parent\'s fd', () => {
    const sys = new FakeSyscalls().failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'etc/hosts');
    ensureFileInRoot(sys, 7, '/etc/hosts');
    expect(steps(sys)).toEqual([
      ['openat2', 7, 'etc/hosts', PATH, 0, IN_ROOT],
      ['openat2', 7, 'etc', PATH, 0, IN_ROOT],
      ['openat', 100, 'hosts', O.CREAT | O.EXCL | O.NOFOLLOW | O.RDONLY | O.CLOEXEC, 0o644],
      ['close', 101],
      ['close', 100],
      ['openat2', 7, 'etc/hosts', PATH, 0, IN_ROOT],
    ]);
  });

  it('what is made is noted (in-root paths, parents first); what exists, or loses the race (EEXIST), is not', () => {
    const made: string[] = [];
    const sys = new FakeSyscalls()
      .failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'etc/hosts')
      .failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'etc')
      .failOn('mkdirat', 'EEXIST', 1)
      .setStat('etc', 'dir');
    sys.close(ensureFileInRoot(sys, 7, '/etc/hosts', 0o644, made));
    expect(made).toEqual(['etc/hosts']);
    const made2: string[] = [];
    const sys2 = new FakeSyscalls().failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'a/b').failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'a');
    sys2.close(mkdirAllInRoot(sys2, 7, '/a/b', 0o755, made2));
    expect(made2).toEqual(['a', 'a/b']);
  });

  it('removeMadeInRoot: the parent found in the root, the name fstat-ed without following; an empty file or a dir unlinked on the parent\'s fd, anything else left', () => {
    const sys = new FakeSyscalls().setStat('hosts', 'file', 0o644, 0n, 0).setStat('full', 'file', 0o644, 0n, 5).setStat('link', 'link').setStat('d', 'dir');
    expect(['etc/hosts', 'etc/full', 'etc/link', 'd', '/'].map((p) => removeMadeInRoot(sys, 7, p))).toEqual([true, false, false, true, false]);
    expect(steps(sys).filter((c) => c[0] === 'unlinkat' || c[0] === 'openat2')).toEqual([
      ['openat2', 7, 'etc', PATH, 0, IN_ROOT],
      ['unlinkat', 100, 'hosts', 0],
      ['openat2', 7, 'etc', PATH, 0, IN_ROOT],
      ['openat2', 7, 'etc', PATH, 0, IN_ROOT],
      ['openat2', 7, '.', PATH, 0, IN_ROOT],
      ['unlinkat', 106, 'd', AT.REMOVEDIR],
    ]);
    expect(steps(sys).filter((c) => c[0] === 'openat').map((c) => c[3])).toEqual([PATH | O.NOFOLLOW, PATH | O.NOFOLLOW, PATH | O.NOFOLLOW, PATH | O.NOFOLLOW]);
  });

  it('without openat2 (ENOSYS): an O_PATH|O_NOFOLLOW walk, symlinks read and restarted at the root; openat2 is not tried again', () => {
    const sys = new FakeSyscalls().failOn('openat2', 'ENOSYS').setStat('etc', 'link');
    sys.links.set('etc', '/real/../real2');
    openInRoot(sys, 7, '/etc/x');
    const NOFOLLOW = PATH | O.NOFOLLOW;
    expect(steps(sys)).toEqual([
      ['openat2', 7, 'etc/x', PATH, 0, IN_ROOT],
      ['openat', 7, 'etc', NOFOLLOW, 0],
      ['fstat', 100],
      ['readlinkat', 100, ''],
      ['close', 100],
      ['openat', 7, 'real', NOFOLLOW, 0],
      ['fstat', 101],
      ['close', 101], // ".." back to the root
      ['openat', 7, 'real2', NOFOLLOW, 0],
      ['fstat', 102],
      ['openat', 102, 'x', NOFOLLOW, 0],
      ['fstat', 103],
      ['close', 102],
    ]);
  });

  it('openat2 EAGAIN (a rename or mount raced a ".." lookup) is retried, and after sixteen the walk answers', () => {
    const flaky = new FakeSyscalls().failOn('openat2', 'EAGAIN', 2);
    openInRoot(flaky, 7, '/a/../b');
    expect(flaky.names()).toEqual(['openat2', 'openat2', 'openat2']);

    const busy = new FakeSyscalls().failOn('openat2', 'EAGAIN', 16);
    openInRoot(busy, 7, '/b');
    expect(busy.names()).toEqual([...Array<string>(16).fill('openat2'), 'openat', 'fstat']);
    // unlike ENOSYS, EAGAIN does not give up on openat2 for the next lookup
    busy.calls.length = 0;
    openInRoot(busy, 7, '/c');
    expect(steps(busy)).toEqual([['openat2', 7, 'c', PATH, 0, IN_ROOT]]);
  });
});

describe('in-root resolution on the real kernel', async () => {
  const { KoffiSyscalls } = await import('../../src/sys/koffi.js');
  const real = new KoffiSyscalls();
  /** The same calls with openat2 missing, as on kernels before 5.6. */
  const noOpenat2 = new Proxy(new KoffiSyscalls(), {
    get(target, prop, receiver) {
      if (prop === 'openat2') return () => { throw new SyscallError('openat2', '', 38, 'ENOSYS', 'function not implemented'); };
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as Syscalls;

  let base = '';
  let root = '';
  let outside = '';
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'tsrun-in-root-'));
    root = join(base, 'rootfs');
    outside = join(base, 'outside');
    for (const d of [join(root, 'real/sub'), join(root, 'etc'), join(outside, 'secret')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(root, 'real/file'), '');
    symlinkSync(outside, join(root, 'abs-out')); // absolute, to a host dir
    symlinkSync('/', join(root, 'to-slash'));
    symlinkSync('../../../..', join(root, 'etc/dots'));
    symlinkSync('/real', join(root, 'abs-in'));
    symlinkSync('../real/sub', join(root, 'etc/rel-in'));
    symlinkSync(join(outside, 'missing'), join(root, 'dangling-out'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  /** The inode an fd names, as "dev:ino", or the errno. */
  function resolve(sys: Syscalls, path: string): string {
    const rootFd = openRootfs(sys, root);
    try {
      const fd = openInRoot(sys, rootFd, path);
      try {
        const st = statSync(`/proc/self/fd/${fd}`);
        return `${st.dev}:${st.ino}`;
      } finally {
        sys.close(fd);
      }
    } catch (err) {
      return (err as SyscallError).errno ?? String(err);
    } finally {
      sys.close(rootFd);
    }
  }
  const inode = (p: string): string => `${statSync(p).dev}:${statSync(p).ino}`;

  it.each([
    ['/abs-out/secret', 'ENOENT'], // the host dir is not in the root
    ['/to-slash/real/sub', 'real/sub'],
    ['/etc/dots/real/file', 'real/file'],
    ['/abs-in/sub', 'real/sub'],
    ['/etc/rel-in', 'real/sub'],
    ['/../../../real', 'real'],
    ['/dangling-out', 'ENOENT'],
    ['/to-slash', '.'],
  ])('%s → %s, with openat2 and with the walk', (path, expected) => {
    const want = expected.startsWith('E') ? expected : inode(join(root, expected));
    expect(resolve(real, path)).toBe(want);
    expect(resolve(noOpenat2, path)).toBe(want);
  });

  it.each([['openat2', real], ['the walk', noOpenat2]] as const)('mkdirAllInRoot through symlinks to the host makes everything inside the root (%s)', (_how, sys) => {
    const before = readdirSync(outside).sort();
    const rootFd = openRootfs(sys, root);
    try {
      sys.close(mkdirAllInRoot(sys, rootFd, `/abs-out/made-${_how}/deeper`));
      sys.close(mkdirAllInRoot(sys, rootFd, `/to-slash/etc/dots/made2-${_how}`));
      sys.close(ensureFileInRoot(sys, rootFd, `/dangling-out`));
    } finally {
      sys.close(rootFd);
    }
    expect(readdirSync(outside).sort()).toEqual(before);
    expect(statSync(join(root, outside, `made-${_how}/deeper`)).isDirectory()).toBe(true);
    expect(existsSync(join(root, `made2-${_how}`))).toBe(true);
    expect(lstatSync(join(root, outside, 'missing')).isFile()).toBe(true);
  });
});
