import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeSyscalls, type Call } from '../../src/sys/fake.js';
import { AT, AT_FDCWD, MOUNT_ATTR, MS, O, RESOLVE, S } from '../../src/sys/constants.js';
import { setupRootfs } from '../../src/runtime/rootfs/setup.js';
import { enterRoot } from '../../src/runtime/rootfs/finish.js';
import { parseMountOptions } from '../../src/runtime/rootfs/mount-options.js';
import { makedev } from '../../src/runtime/rootfs/devices.js';
import { formatCall, traceSyscalls } from '../../src/sys/tracing.js';
import { startExplaining, type ExplainEvent } from '../../src/explain/events.js';

// setupRootfs on the recording fake: the file-system steps of the rootfs, in
// order. Every destination is an openat2 on the rootfs fd; what is missing is
// made with mkdirat on its parent's fd; every mount targets /proc/self/fd/N.

const rootfs = mkdtempSync(join(tmpdir(), 'tsrun-unit-setup-'));
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
const PATH = O.PATH | O.CLOEXEC;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function spec(mounts: any[], extra: Record<string, unknown> = {}): any {
  return { ociVersion: '1.2.0', root: { path: rootfs }, mounts, linux: { namespaces: [{ type: 'mount' }], devices: [], ...extra } };
}

/** The second call makes the rootfs's parent mount private only when the host's mount table has it shared. */
const withoutParentPrivate = (calls: Call[]): Call[] => calls.filter((c, i) => !(i === 1 && c.name === 'mount' && c.args[3] === MS.PRIVATE));

/**
 * The calls as [name, ...args], with /proc/self/fd/N written as fd:<what N was opened as>.
 * Without the making private of the rootfs's parent mount: the host's mount table decides whether it happens.
 */
function steps(sys: FakeSyscalls, calls: Call[] = withoutParentPrivate(sys.calls)): unknown[][] {
  const named = (a: unknown) => (typeof a === 'string' ? a.replace(/^\/proc\/self\/fd\/(\d+)$/, (_m, n: string) => `fd:${sys.fdPaths.get(Number(n))}`) : a);
  return calls.map((c) => [c.name, ...(c.name === 'mount' || c.name === 'statfsFlags' ? c.args.map(named) : c.args)]);
}

describe('setupRootfs: the file-system steps, in order', () => {
  it('propagation, the rootfs bound on itself, its fd, then per mount: openat2, mkdirat of what is missing, mount on /proc/self/fd/N; devices; links', () => {
    const sys = new FakeSyscalls().failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'dev/pts').failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'srv/data');
    setupRootfs(sys, {
      rootfs,
      bundle: rootfs,
      spec: spec([
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
        { destination: '/srv/data', type: 'bind', source: rootfs, options: ['rbind', 'nosuid'] },
      ]),
    });
    const s = steps(sys);
    const rootFd = 100;
    expect(s.slice(0, 3)).toEqual([
      ['mount', null, '/', null, MS.SLAVE | MS.REC, null],
      ['mount', rootfs, rootfs, 'bind', MS.BIND | MS.REC, null],
      ['open', rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC, 0],
    ]);
    expect(s.slice(3, 27)).toEqual([
      ['openat2', rootFd, 'proc', PATH, 0, IN_ROOT],
      ['mount', 'proc', 'fd:proc', 'proc', 0, null],
      ['close', 101],
      ['openat2', rootFd, 'dev', PATH, 0, IN_ROOT],
      ['mount', 'tmpfs', 'fd:dev', 'tmpfs', MS.NOSUID, 'mode=755'],
      ['close', 102],
      ['openat2', rootFd, 'dev/pts', PATH, 0, IN_ROOT], // ENOENT: made in the new tmpfs
      ['openat2', rootFd, 'dev', PATH, 0, IN_ROOT],
      ['mkdirat', 103, 'pts', 0o755],
      ['close', 103],
      ['openat2', rootFd, 'dev/pts', PATH, 0, IN_ROOT],
      ['mount', 'devpts', 'fd:dev/pts', 'devpts', 0, null],
      ['close', 104],
      ['openat2', rootFd, 'srv/data', PATH, 0, IN_ROOT],
      ['openat2', rootFd, 'srv', PATH, 0, IN_ROOT],
      ['mkdirat', 105, 'data', 0o755],
      ['close', 105],
      ['openat2', rootFd, 'srv/data', PATH, 0, IN_ROOT],
      ['mount', rootfs, 'fd:srv/data', 'bind', MS.BIND | MS.REC, null],
      ['close', 106],
      // the bind's own flags by remount, on the new mount found again
      ['openat2', rootFd, 'srv/data', PATH, 0, IN_ROOT],
      ['statfsFlags', 'fd:srv/data'],
      ['mount', rootfs, 'fd:srv/data', null, MS.BIND | MS.REMOUNT | MS.REC | MS.NOSUID, null],
      ['close', 107],
    ]);
    // devices: mknodat + fchownat on /dev's fd, never following a symlink
    const devices = s.filter((c) => c[0] === 'mknodat' || c[0] === 'fchownat');
    expect(devices.slice(0, 2)).toEqual([
      ['mknodat', 108, 'null', S.IFCHR | 0o666, makedev(1, 3)],
      ['fchownat', 108, 'null', 0, 0, AT.SYMLINK_NOFOLLOW],
    ]);
    expect(sys.fdPaths.get(108)).toBe('dev');
    expect(s.filter((c) => c[0] === 'symlinkat').map((c) => [c[1], c[3]])).toEqual(
      expect.arrayContaining([['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr']]),
    );
    expect(s.at(-1)).toEqual(['close', rootFd]);
    // nothing by name: no plain mknod, and no mount on a path in the rootfs
    expect(s.some((c) => c[0] === 'mknod' || (c[0] === 'mount' && String(c[2]).startsWith(`${rootfs}/`)))).toBe(false);
  });

  it('rro, and rbind with ro, make the whole subtree read-only with mount_setattr(AT_RECURSIVE)', () => {
    expect(parseMountOptions(['rbind', 'rro'])).toMatchObject({ recursiveSet: MOUNT_ATTR.RDONLY, recursiveClear: 0 });
    expect(parseMountOptions(['rbind', 'ro'])).toMatchObject({ recursiveSet: MOUNT_ATTR.RDONLY });
    expect(parseMountOptions(['bind', 'ro'])).toMatchObject({ recursiveSet: 0 });
    expect(parseMountOptions(['rro', 'rrw', 'rnosuid'])).toMatchObject({ recursiveSet: MOUNT_ATTR.NOSUID, recursiveClear: MOUNT_ATTR.RDONLY, data: '' });
    const sys = new FakeSyscalls();
    setupRootfs(sys, { rootfs, bundle: rootfs, spec: spec([{ destination: '/mnt', type: 'bind', source: rootfs, options: ['rbind', 'rro'] }]) });
    const s = steps(sys);
    const at = s.findIndex((c) => c[0] === 'mountSetattr');
    expect(s[at]).toEqual(['mountSetattr', 102, '', AT.EMPTY_PATH | AT.RECURSIVE, MOUNT_ATTR.RDONLY, 0]);
    expect(s[at - 1]).toEqual(['openat2', 100, 'mnt', PATH, 0, IN_ROOT]); // the new mount, found again: fd 102
    expect(s.findIndex((c) => c[0] === 'mount' && c[2] === 'fd:mnt')).toBeLessThan(at);
  });

  it('a read-only /dev is mounted writable, and made read-only once its devices and links are in it', () => {
    const sys = new FakeSyscalls();
    setupRootfs(sys, { rootfs, bundle: rootfs, spec: spec([{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] }]) });
    const s = steps(sys);
    expect(s.find((c) => c[0] === 'mount' && c[2] === 'fd:dev')).toEqual(['mount', 'tmpfs', 'fd:dev', 'tmpfs', MS.NOSUID, null]);
    const ro = s.findIndex((c) => c[0] === 'mountSetattr');
    expect(s[ro]!.slice(2)).toEqual(['', AT.EMPTY_PATH, MOUNT_ATTR.RDONLY, 0]);
    expect(ro).toBeGreaterThan(s.findLastIndex((c) => c[0] === 'mknodat' || c[0] === 'symlinkat'));
  });

  it('rootfsPropagation is applied to "/" as given (shared is not rshared); unbindable waits for the new root', () => {
    for (const [prop, flag] of [['shared', MS.SHARED], ['rshared', MS.SHARED | MS.REC], ['slave', MS.SLAVE], ['private', MS.PRIVATE], ['unbindable', MS.SLAVE | MS.REC]] as const) {
      const sys = new FakeSyscalls();
      setupRootfs(sys, { rootfs, bundle: rootfs, spec: spec([], { rootfsPropagation: prop }) });
      expect(sys.calls[0]).toEqual({ name: 'mount', args: [null, '/', null, flag, null] });
      expect(withoutParentPrivate(sys.calls).filter((c) => c.name === 'mount' && c.args[1] === '/')).toHaveLength(1);
    }
  });

  it('after pivot_root, shared and unbindable are given to the container\'s new root (the rootfs was bound private)', () => {
    for (const [prop, flag] of [['shared', MS.SHARED], ['rshared', MS.SHARED | MS.REC], ['unbindable', MS.UNBINDABLE], ['runbindable', MS.UNBINDABLE | MS.REC], ['slave', undefined], ['private', undefined]] as const) {
      const sys = new FakeSyscalls();
      enterRoot(sys, rootfs, { hasMountNs: true, noPivot: false, propagation: prop });
      const pivot = sys.names().indexOf('pivotRoot');
      const after = sys.calls.slice(pivot).filter((c) => c.name === 'mount' && c.args[1] === '/');
      expect(pivot).toBeGreaterThanOrEqual(0);
      expect(after).toEqual(flag === undefined ? [] : [{ name: 'mount', args: [null, '/', null, flag, null] }]);
    }
    // no mount namespace: "/" is the host's, never touched
    const host = new FakeSyscalls();
    enterRoot(host, rootfs, { hasMountNs: false, noPivot: false, propagation: 'shared' });
    expect(host.names()).not.toContain('mount');
  });
});

describe('--explain of the fd-based steps', () => {
  it('writes the new calls with flags in words, and /proc/self/fd/N with the path it stands for', () => {
    expect(formatCall('openat2', [5, 'proc', O.PATH | O.CLOEXEC | O.NOFOLLOW, 0, IN_ROOT])).toBe(
      'openat2(5, "proc", {flags: O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH, resolve: RESOLVE_NO_MAGICLINKS|RESOLVE_IN_ROOT})',
    );
    expect(formatCall('mknodat', [6, 'null', S.IFCHR | 0o666, makedev(1, 3)])).toBe('mknodat(6, "null", 020666, 0x103)');
    expect(formatCall('mountSetattr', [7, '', AT.EMPTY_PATH | AT.RECURSIVE, MOUNT_ATTR.RDONLY, 0])).toBe('mount_setattr(7, "", AT_EMPTY_PATH|AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0})');
    const events: ExplainEvent[] = [];
    startExplaining((e) => events.push(e), 'init');
    const sys = traceSyscalls(new FakeSyscalls());
    const root = sys.open('/rootfs', O.PATH | O.DIRECTORY | O.CLOEXEC);
    const fd = sys.openat2(root, 'proc', O.PATH | O.CLOEXEC, 0, IN_ROOT);
    sys.mount('proc', `/proc/self/fd/${fd}`, 'proc', 0, null);
    expect(events.at(-1)!.call).toBe(`mount("proc", "/proc/self/fd/${fd}" </rootfs/proc>, "proc", 0, NULL)`);
  });

  it('writes the file calls of cgroups and the state directory as strace does, a write with the file its fd stands for', () => {
    expect(formatCall('unlinkat', [AT_FDCWD, '/sys/fs/cgroup/tsrun/c1', AT.REMOVEDIR])).toBe('unlinkat(AT_FDCWD, "/sys/fs/cgroup/tsrun/c1", AT_REMOVEDIR)');
    expect(formatCall('renameat', [AT_FDCWD, '/r/c/state.json.tmp-1', AT_FDCWD, '/r/c/state.json'])).toBe('renameat(AT_FDCWD, "/r/c/state.json.tmp-1", AT_FDCWD, "/r/c/state.json")');
    expect(formatCall('fchmodat', [AT_FDCWD, '/r/c/exec.fifo', 0o622])).toBe('fchmodat(AT_FDCWD, "/r/c/exec.fifo", 0622)');
    expect(formatCall('write', [9, 'x'.repeat(81)])).toBe('write(9, <81 bytes>)');
    const events: ExplainEvent[] = [];
    startExplaining((e) => events.push(e), 'runtime');
    const sys = traceSyscalls(new FakeSyscalls());
    const fd = sys.openat(AT_FDCWD, '/sys/fs/cgroup/tsrun/c1/pids.max', O.WRONLY | O.CLOEXEC);
    sys.write(fd, '64');
    expect(events.map((e) => e.call)).toEqual([
      'openat(AT_FDCWD, "/sys/fs/cgroup/tsrun/c1/pids.max", O_WRONLY|O_CLOEXEC)',
      `write(${fd} </sys/fs/cgroup/tsrun/c1/pids.max>, "64")`,
    ]);
  });

  it('the kernel door imports nothing of the rootfs (issue 15\'s layering)', () => {
    for (const f of ['tracing.ts', 'flag-names.ts', 'constants.ts', 'arch.ts', 'koffi.ts', 'fake.ts', 'syscalls.ts']) {
      const text = readFileSync(join(import.meta.dirname, '../../src/sys', f), 'utf8');
      expect(text, f).not.toMatch(/from '\.\.\/(rootfs|container|process|cgroups)\//);
    }
  });
});
