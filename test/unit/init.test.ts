import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeExec, FakeSyscalls, type Call } from '../../src/sys/fake.js';
import { SyscallError } from '../../src/sys/syscalls.js';
import { AT, CLONE, CLOSE_RANGE_CLOEXEC, MNT_DETACH, MS, O, PR, RESOLVE, S } from '../../src/sys/constants.js';
import { applyProcess, execReady, prepare, type Channel } from '../../src/runtime/process/init.js';
import type { SeccompLib } from '../../src/runtime/seccomp/libseccomp.js';
import { lastCap } from '../../src/runtime/capabilities.js';
import { makedev } from '../../src/runtime/rootfs/devices.js';
import type { InitConfig } from '../../src/runtime/process/messages.js';

// The init's steps on the recording fake: what is called, in which order,
// and how a failing call is reported. No root needed: the rootfs is a temp dir
// and every kernel call goes to the fake, file system steps included (the
// fake's openat2 finds every path unless told otherwise).

const rootfs = mkdtempSync(join(tmpdir(), 'tsrun-unit-init-'));
for (const d of ['proc', 'dev', 'tmp']) mkdirSync(join(rootfs, d));
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySpec = any;

function spec(edit?: (s: AnySpec) => void): AnySpec {
  const s: AnySpec = {
    ociVersion: '1.2.0',
    root: { path: rootfs, readonly: true },
    hostname: 'unit-host',
    process: {
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/usr/bin:/bin', 'HOME=/root'],
      cwd: '/',
      noNewPrivileges: true,
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'gid=5'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      readonlyPaths: ['/proc/sys'],
      maskedPaths: ['/proc/rt-unit-does-not-exist'],
    },
  };
  edit?.(s);
  return s;
}

function config(s: AnySpec): InitConfig {
  return { type: 'config', mode: 'create', id: 'rt-unit', spec: s, rootfs, bundle: rootfs, fifoFd: 4, noPivot: false, debug: false } as unknown as InitConfig;
}

/** A channel that answers nsReady with continue, and logs where in the call log each message happened. */
function channel(sys: FakeSyscalls): Channel & { events: { msg: string; at: number }[] } {
  const events: { msg: string; at: number }[] = [];
  return {
    events,
    send: (m) => void events.push({ msg: `send:${m.type}`, at: sys.calls.length }),
    expect: ((type: string) => {
      events.push({ msg: `expect:${type}`, at: sys.calls.length });
      return { type, state: { ociVersion: '1.2.0', id: 'rt-unit', status: 'creating', pid: 1, bundle: rootfs } };
    }) as Channel['expect'],
  };
}

/** A fake whose /dev/null is the null device, /proc/version a file, and *does-not-exist* missing (for masked paths). */
const fresh = () =>
  new FakeSyscalls()
    .setStat('dev/null', 'chr', 0o666, makedev(1, 3))
    .setStat('proc/version', 'file')
    .failOn('openat2', 'ENOENT', 1000, (a) => String(a[1]).includes('does-not-exist'));
const idx = (calls: Call[], pred: (c: Call) => boolean) => calls.findIndex(pred);
/** A mount's arguments, with a /proc/self/fd/N source or target shown as fd:<the path N was opened with>. */
const mountsOf = (calls: Call[], sys?: FakeSyscalls) =>
  calls.filter((c) => c.name === 'mount').map((c) => c.args.map((a) => (typeof a === 'string' && sys ? a.replace(/^\/proc\/self\/fd\/(\d+)$/, (_m, n: string) => `fd:${sys.fdPaths.get(Number(n))}`) : a)));

function runPrepare(sys: FakeSyscalls, s: AnySpec) {
  const ch = channel(sys);
  const out = prepare(sys, ch, config(s));
  return { ch, out };
}

describe('prepare(): namespaces and rootfs', () => {
  it('enters namespaces, reports nsReady, then (after continue) cgroup ns, mounts, pivots, names and paths, in order', () => {
    const sys = fresh();
    const { ch, out } = runPrepare(sys, spec());
    let c = sys.calls;
    expect(c[0]).toEqual({ name: 'prctl', args: [PR.SET_PDEATHSIG, 9, 0, 0, 0] });
    // ipc, uts, network, mount before the parent is told; the pid ns is the parent's job
    expect(c.slice(1, 5)).toEqual([CLONE.NEWIPC, CLONE.NEWUTS, CLONE.NEWNET, CLONE.NEWNS].map((f) => ({ name: 'unshare', args: [f] })));
    expect(ch.events.map((e) => e.msg)).toEqual(['send:nsReady', 'expect:continue']);
    expect(ch.events[0]!.at).toBe(5);
    expect(c[5]).toEqual({ name: 'unshare', args: [CLONE.NEWCGROUP] });
    expect(c.filter((x) => x.name === 'unshare' && x.args[0] === CLONE.NEWPID)).toEqual([]);

    const mounts = mountsOf(c, sys);
    // first: nothing mounted later may propagate back to the host
    expect(mounts[0]).toEqual([null, '/', null, MS.SLAVE | MS.REC, null]);
    expect(mounts[1]).toEqual([rootfs, rootfs, 'bind', MS.BIND | MS.REC, null]);
    // every destination is found through an fd of the rootfs and mounted on as /proc/self/fd/N
    expect(mounts.slice(2, 5)).toEqual([
      ['proc', 'fd:proc', 'proc', 0, null],
      ['tmpfs', 'fd:dev', 'tmpfs', MS.NOSUID, 'mode=755'],
      ['devpts', 'fd:dev/pts', 'devpts', MS.NOSUID, 'gid=5'],
    ]);
    const rootFd = Number([...sys.fdPaths].find(([, p]) => p === rootfs)![0]);
    expect(c.filter((x) => x.name === 'openat2' && x.args[1] === 'proc')[0]!.args).toEqual([rootFd, 'proc', O.PATH | O.CLOEXEC, 0, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS]);
    // devices after /dev is mounted, made in the rootfs's /dev through its fd, never on the host
    const mknod = c.filter((x) => x.name === 'mknodat');
    expect(sys.fdPaths.get(mknod[0]!.args[0] as number)).toBe('dev');
    expect(mknod[0]!.args.slice(1)).toEqual(['null', S.IFCHR | 0o666, makedev(1, 3)]);
    expect(mknod.map((x) => x.args[1])).toEqual(['null', 'zero', 'full', 'random', 'urandom', 'tty']);
    expect(idx(c, (x) => x.name === 'mknodat')).toBeGreaterThan(idx(c, (x) => x.name === 'mount' && x.args[2] === 'tmpfs'));
    const chown = c.findIndex((x) => x.name === 'fchownat');
    expect(c[chown]!.args).toEqual([mknod[0]!.args[0], 'null', 0, 0, AT.SYMLINK_NOFOLLOW]);
    expect(c.some((x) => x.name === 'mknod')).toBe(false);

    // exec.fifo comes in as fd 4, opened by the runtime: the init never opens it by path.
    // (pivotRoot may first make a shared parent mount private; the host's table decides, so skip those.)
    c = c.filter((x) => !(x.name === 'mount' && x.args[3] === MS.PRIVATE));
    expect(c.some((x) => x.name === 'open' && String(x.args[0]).endsWith('exec.fifo'))).toBe(false);
    const pivot = idx(c, (x) => x.name === 'pivotRoot');
    const oldRoot = Math.min(...[...sys.fdPaths].filter(([, p]) => p === '/').map(([fd]) => fd));
    const newRoot = oldRoot + 1;
    expect(c.slice(pivot - 3, pivot + 7).map((x) => [x.name, ...x.args])).toEqual([
      ['open', '/', O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0],
      ['open', rootfs, O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0],
      ['fchdir', newRoot],
      ['pivotRoot', '.', '.'],
      ['fchdir', oldRoot],
      ['mount', null, '.', null, MS.SLAVE | MS.REC, null],
      ['umount2', '.', MNT_DETACH],
      ['chdir', '/'],
      ['close', oldRoot],
      ['close', newRoot],
    ]);
    const host = idx(c, (x) => x.name === 'sethostname');
    expect(c[host]!.args).toEqual(['unit-host']);
    expect(host).toBeGreaterThan(pivot);
    // readonly paths after pivot_root, found through an fd of the new root, remounted read-only; root readonly last
    const after = mountsOf(c.slice(pivot), sys);
    expect(after.slice(1)).toEqual([
      ['fd:proc/sys', 'fd:proc/sys', null, MS.BIND | MS.REC, null],
      ['fd:proc/sys', 'fd:proc/sys', null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC | MS.NOSUID | MS.NODEV | MS.NOEXEC, null],
      [null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY, null],
    ]);
    expect(c.filter((x) => x.name === 'execve' || x.name === 'setresuid' || x.name === 'capset')).toEqual([]);
    expect(out.binary).toMatch(/\/sh$/);
    expect(out.fifoFd).toBe(4);
  });

  it('joins namespaces given by path (mount after unshare(CLONE_FS)) and creates the others', () => {
    const sys = fresh();
    runPrepare(sys, spec((s) => {
      s.linux.namespaces = [{ type: 'pid' }, { type: 'network', path: '/proc/self/ns/net' }, { type: 'mount', path: '/proc/self/ns/mnt' }, { type: 'uts' }];
    }));
    expect(sys.calls.slice(1, 10).map((x) => [x.name, ...x.args])).toEqual([
      ['unshare', CLONE.NEWUTS],
      ['open', '/proc/self/ns/net', O.RDONLY | O.CLOEXEC, 0],
      ['setns', 100, CLONE.NEWNET],
      ['close', 100],
      ['unshare', CLONE.FS],
      ['open', '/proc/self/ns/mnt', O.RDONLY | O.CLOEXEC, 0],
      ['setns', 101, CLONE.NEWNS],
      ['close', 101],
      ['umask', 0],
    ]);
  });

  it('a masked directory gets a read-only tmpfs, a masked file /dev/null; missing paths are skipped', () => {
    const sys = fresh().failOn('openat2', 'ENOENT', 1, (a) => a[1] === 'proc/rt-unit-none');
    runPrepare(sys, spec((s) => (s.linux.maskedPaths = ['/proc/self', '/proc/version', '/proc/rt-unit-none'])));
    const pivot = idx(sys.calls, (x) => x.name === 'pivotRoot');
    const after = mountsOf(sys.calls.slice(pivot), sys);
    expect(after).toContainEqual(['tmpfs', 'fd:proc/self', 'tmpfs', MS.RDONLY, null]);
    expect(after).toContainEqual(['fd:dev/null', 'fd:proc/version', null, MS.BIND, null]);
    expect(after.some((m) => m[1] === 'fd:proc/rt-unit-none')).toBe(false);
    // masked paths are opened without following a last symlink
    const opened = sys.calls.filter((x) => x.name === 'openat2' && x.args[1] === 'proc/version');
    expect(opened.at(-1)!.args[2]).toBe(O.PATH | O.CLOEXEC | O.NOFOLLOW);
  });

  it('a masked path that is a symlink is refused, and a /dev/null that is not the null device is never bound', () => {
    const link = fresh().setStat('proc/rt-unit-link', 'link');
    expect(() => runPrepare(link, spec((s) => (s.linux.maskedPaths = ['/proc/rt-unit-link'])))).toThrowError(/maskedPaths: \/proc\/rt-unit-link: is a symlink in the container: not followed/);
    const fakeNull = new FakeSyscalls().setStat('dev/null', 'file').setStat('proc/version', 'file');
    expect(() => runPrepare(fakeNull, spec((s) => (s.linux.maskedPaths = ['/proc/version'])))).toThrowError(/\/dev\/null is not the null device/);
    expect(mountsOf(fakeNull.calls, fakeNull).some((m) => m[1] === 'fd:proc/version')).toBe(false);
  });

  it('--no-pivot moves the rootfs over / and chroots instead', () => {
    const sys = fresh();
    const ch = channel(sys);
    prepare(sys, ch, { ...config(spec()), noPivot: true });
    expect(sys.calls.some((x) => x.name === 'pivotRoot')).toBe(false);
    const chroot = idx(sys.calls, (x) => x.name === 'chroot');
    expect(sys.calls.slice(chroot - 2, chroot + 2).map((x) => [x.name, ...x.args])).toEqual([
      ['chdir', rootfs],
      ['mount', rootfs, '/', null, MS.MOVE, null],
      ['chroot', '.'],
      ['chdir', '/'],
    ]);
  });

  it('a failing mount names the config entry, the call and the errno, and stops there', () => {
    const sys = fresh().failOn('mount', 'EBUSY', 1, (a) => a[2] === 'devpts');
    expect(() => runPrepare(sys, spec())).toThrowError(/mounts\[2\] \(\/dev\/pts\): mount\(.*devpts.*\): EBUSY/);
    expect(sys.calls.some((x) => x.name === 'pivotRoot' || x.name === 'mknod')).toBe(false);
  });

  it('a failing unshare is reported before nsReady', () => {
    const sys = fresh().failOn('unshare', 'EPERM', 1, (a) => a[0] === CLONE.NEWNET);
    const ch = channel(sys);
    let err: unknown;
    try {
      prepare(sys, ch, config(spec()));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toMatch(/^unshare\(.*\): EPERM/);
    expect((err as SyscallError).errno).toBe('EPERM');
    expect(ch.events).toEqual([]);
  });

  it('failing pivot_root and mknod name the call and errno', () => {
    expect(() => runPrepare(fresh().failOn('pivotRoot', 'EINVAL'), spec())).toThrowError(/pivotRoot\(.*\): EINVAL/);
    expect(() => runPrepare(fresh().failOn('mknodat', 'EPERM'), spec())).toThrowError(/device \/dev\/null: mknodat\(.*"null".*\): EPERM/);
  });

  it('a binary that is not on the PATH fails with "no such file or directory"', () => {
    expect(() => runPrepare(fresh(), spec((s) => (s.process.args = ['rt-unit-no-such-binary'])))).toThrowError(/no such file or directory/);
  });
});

const noSeccomp = (): SeccompLib => {
  throw new Error('no seccomp in this test');
};

/** applyProcess (before ready), a marker call, then execReady (after exec.fifo), as the init runs them. */
const exec = (
  sys: FakeSyscalls,
  s: AnySpec,
  warn: (m: string) => void = () => undefined,
  callerNofile?: { soft: string; hard: string },
  opts: { debug?: (m: string) => void; mode?: 'create' | 'exec'; seccomp?: () => SeccompLib } = {},
): FakeExec => {
  const cfg = { ...config(s), callerNofile, mode: opts.mode ?? 'create' };
  const lib = opts.seccomp ?? noSeccomp;
  const ready = applyProcess(sys, cfg, '/bin/sh', { warn, debug: opts.debug ?? (() => undefined) }, lib);
  readyAt.set(sys, sys.calls.length);
  try {
    execReady(sys, cfg, ready, lib);
  } catch (err) {
    if (err instanceof FakeExec) return err;
    throw err;
  }
  throw new Error('execReady returned');
};
/** Where in the call log applyProcess ended (the init reports ready there). */
const readyAt = new WeakMap<FakeSyscalls, number>();

const caps = (bounding: string[], rest: string[], ambient: string[] = []) => ({ bounding, effective: rest, permitted: rest, inheritable: ambient, ambient });
const bit = (n: number) => 1n << BigInt(n);

describe('applyProcess() before ready, execReady() after exec.fifo: credentials, in order, then execve', () => {
  const user = (s: AnySpec) => {
    s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o027 };
    s.process.capabilities = caps(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'], ['CAP_KILL', 'CAP_NET_BIND_SERVICE'], ['CAP_NET_BIND_SERVICE']);
    s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
    s.process.cwd = '/tmp';
  };

  it('umask, rlimits, bounding drop, keepcaps around setres[ug]id, capset, ambient, chdir, no_new_privs, signals, fds, execve', () => {
    const sys = new FakeSyscalls();
    const e = exec(sys, spec(user));
    const c = sys.calls;
    const at = (name: string, pred: (a: unknown[]) => boolean = () => true) => idx(c, (x) => x.name === name && pred(x.args));
    const prctl = (opt: number, arg2?: number) => at('prctl', (a) => a[0] === opt && (arg2 === undefined || a[1] === arg2));

    expect(c[0]).toEqual({ name: 'umask', args: [0o027] });
    expect(c.slice(1, 3)).toEqual([
      { name: 'setrlimit', args: [7, 100n, 200n] },
      { name: 'setrlimit', args: [4, 0n, 0n] },
    ]);
    // every cap the kernel knows except the three kept is dropped from the bounding set
    const drops = c.filter((x) => x.name === 'prctl' && x.args[0] === PR.CAPBSET_DROP).map((x) => x.args[1]);
    const kept = [0, 5, 10];
    expect(drops).toEqual([...Array(lastCap() + 1).keys()].filter((n) => !kept.includes(n)));
    const lastDrop = c.findLastIndex((x) => x.name === 'prctl' && x.args[0] === PR.CAPBSET_DROP);
    const keep1 = prctl(PR.SET_KEEPCAPS, 1);
    const keep0 = prctl(PR.SET_KEEPCAPS, 0);
    const order = [
      at('chdir'),
      lastDrop,
      keep1,
      at('setgroups'),
      at('setresgid'),
      at('setresuid'),
      keep0,
      at('capset'),
      at('prctl', (a) => a[0] === PR.CAP_AMBIENT && a[1] === PR.CAP_AMBIENT_CLEAR_ALL),
      at('prctl', (a) => a[0] === PR.CAP_AMBIENT && a[1] === PR.CAP_AMBIENT_RAISE),
      // the uid change cleared it: re-armed until create has saved the state
      prctl(PR.SET_PDEATHSIG, 9),
      prctl(PR.SET_NO_NEW_PRIVS),
      // ready / exec.fifo / startContainer hooks come here
      readyAt.get(sys)!,
      at('resetSignal'),
      at('unblockAllSignals'),
      at('closeRange'),
      at('fcntlSetCloexec'),
      at('execve'),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(c[at('setgroups')]!.args).toEqual([[5, 65534]]);
    expect(c[at('setresgid')]!.args).toEqual([1000, 1000, 1000]);
    expect(c[at('setresuid')]!.args).toEqual([1000, 1000, 1000]);
    expect(c[at('capset')]!.args).toEqual([{ effective: bit(5) | bit(10), permitted: bit(5) | bit(10), inheritable: bit(10) }]);
    expect(c.filter((x) => x.name === 'prctl' && x.args[0] === PR.CAP_AMBIENT && x.args[1] === PR.CAP_AMBIENT_RAISE).map((x) => x.args[2])).toEqual([10]);
    expect(c[at('chdir')]!.args).toEqual(['/tmp']);
    // no privilege-changing call after no_new_privs
    const nnp = prctl(PR.SET_NO_NEW_PRIVS);
    expect(c.slice(nnp + 1).filter((x) => ['capset', 'setresuid', 'setresgid', 'setgroups', 'prctl'].includes(x.name))).toEqual([]);
    // SIGKILL and SIGSTOP cannot be reset; every other classic signal is
    expect(c.filter((x) => x.name === 'resetSignal').map((x) => x.args[0])).toEqual([...Array(31).keys()].map((i) => i + 1).filter((s) => s !== 9 && s !== 19));
    expect(c[at('closeRange')]!.args).toEqual([3, 0xffffffff, CLOSE_RANGE_CLOEXEC]);
    expect(c.filter((x) => x.name === 'fcntlSetCloexec').map((x) => x.args)).toEqual([[0, false], [1, false], [2, false]]);
    expect(c.at(-1)!.name).toBe('execve');
    expect(e.path).toBe('/bin/sh');
    expect(e.argv).toEqual(['sh', '-c', 'true']);
    expect(e.envp).toEqual(['PATH=/usr/bin:/bin', 'HOME=/root']);
  });

  it('without noNewPrivileges, capabilities or rlimits: no no_new_privs, no capset, NOFILE restored to the caller\'s', () => {
    const sys = new FakeSyscalls();
    exec(sys, spec((s) => (s.process.noNewPrivileges = false)), undefined, { soft: '1024', hard: '4096' });
    const c = sys.calls;
    expect(c.some((x) => x.name === 'prctl' && x.args[0] === PR.SET_NO_NEW_PRIVS)).toBe(false);
    expect(c.some((x) => x.name === 'capset' || (x.name === 'prctl' && x.args[0] === PR.CAPBSET_DROP))).toBe(false);
    expect(c.filter((x) => x.name === 'setrlimit')).toEqual([{ name: 'setrlimit', args: [7, 1024n, 1048576n] }]);
    expect(c.find((x) => x.name === 'setgroups')!.args).toEqual([[]]);
  });

  it('RLIMIT values of 2^64-1 mean unlimited', () => {
    const sys = new FakeSyscalls();
    exec(sys, spec((s) => (s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }])));
    expect(sys.calls.find((x) => x.name === 'setrlimit')!.args).toEqual([4, 0xffffffffffffffffn, 0xffffffffffffffffn]);
  });

  it('adds HOME when the config has none', () => {
    const e = exec(new FakeSyscalls(), spec((s) => (s.process.env = ['PATH=/bin'])));
    expect(e.envp).toHaveLength(2);
    expect(e.envp[1]).toMatch(/^HOME=\//);
  });

  it('warns about capability names this kernel does not know, and keeps the rest', () => {
    const warnings: string[] = [];
    const sys = new FakeSyscalls();
    exec(sys, spec((s) => (s.process.capabilities = caps(['CAP_KILL', 'CAP_RT_UNIT_BOGUS'], ['CAP_KILL']))), (m) => warnings.push(m));
    expect(warnings.join('\n')).toContain('CAP_RT_UNIT_BOGUS');
    expect(sys.calls.find((x) => x.name === 'capset')!.args).toEqual([{ effective: bit(5), permitted: bit(5), inheritable: 0n }]);
  });

  it.each([
    ['setresuid', 'EPERM'],
    ['setresgid', 'EPERM'],
    ['setgroups', 'EPERM'],
    ['capset', 'EPERM'],
    ['setrlimit', 'EINVAL'],
    ['chdir', 'ENOENT'],
    ['execve', 'ENOEXEC'],
  ] as const)('a failing %s stops before execve and names the call and %s', (name, errno) => {
    const sys = new FakeSyscalls().failOn(name, errno);
    let err: unknown;
    try {
      exec(sys, spec(user));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toMatch(new RegExp(`^${name}\\(.*\\): ${errno}: `));
    expect((err as SyscallError).errno).toBe(errno);
    // nothing after the failed call
    expect(sys.calls.at(-1)!.name).toBe(name);
  });

  it('a cwd root may not enter is tried again as the user, after the credentials (runc\'s order)', () => {
    const sys = new FakeSyscalls().failOn('chdir', 'EACCES');
    exec(sys, spec(user));
    const c = sys.calls;
    const chdirs = c.flatMap((x, i) => (x.name === 'chdir' ? [i] : []));
    expect(chdirs).toHaveLength(2);
    const setuid = c.findIndex((x) => x.name === 'setresuid');
    expect(chdirs[0]).toBeLessThan(setuid);
    expect(chdirs[1]).toBeGreaterThan(setuid);
    expect(c.at(-1)!.name).toBe('execve');
  });

  it('a failing ambient raise is reported (the cap must be permitted and inheritable)', () => {
    const sys = new FakeSyscalls().failOn('prctl', 'EPERM', 1, (a) => a[0] === PR.CAP_AMBIENT && a[1] === PR.CAP_AMBIENT_RAISE);
    expect(() => exec(sys, spec(user))).toThrowError(/prctl\(.*\): EPERM/);
    expect(sys.calls.some((x) => x.name === 'execve')).toBe(false);
  });

  it('an ambient cap the kernel refuses for want of inheritable is skipped with a debug line naming it, never a warning', () => {
    // runc spec's default: ambient without inheritable
    const sys = new FakeSyscalls().failOn('prctl', 'EPERM', 1, (a) => a[0] === PR.CAP_AMBIENT && a[1] === PR.CAP_AMBIENT_RAISE);
    const warnings: string[] = [];
    const debug: string[] = [];
    const e = exec(sys, spec((s) => (s.process.capabilities = { ...caps(['CAP_KILL'], ['CAP_KILL']), ambient: ['CAP_KILL'] })), (m) => warnings.push(m), undefined, { debug: (m) => debug.push(m) });
    expect(e.path).toBe('/bin/sh');
    expect(warnings).toEqual([]);
    expect(debug).toEqual(['process.capabilities.ambient: CAP_KILL (capability 5) not raised: it is not in the permitted and inheritable sets']);
    // the skip happened before ready, where the runtime still listens
    const raise = idx(sys.calls, (x) => x.name === 'prctl' && x.args[0] === PR.CAP_AMBIENT && x.args[1] === PR.CAP_AMBIENT_RAISE);
    expect(raise).toBeLessThan(readyAt.get(sys)!);
  });

  it.each([
    ['setrlimit', 'EPERM'],
    ['setgroups', 'EPERM'],
    ['setresuid', 'EPERM'],
    ['capset', 'EPERM'],
    ['chdir', 'ENOENT'],
  ] as const)('a failing %s fails before ready (create fails), not after exec.fifo', (name, errno) => {
    const sys = new FakeSyscalls().failOn(name, errno);
    expect(() => exec(sys, spec(user))).toThrowError(new RegExp(`${name}\\(.*\\): ${errno}`));
    expect(readyAt.has(sys)).toBe(false);
    expect(sys.calls.some((x) => x.name === 'resetSignal' || x.name === 'execve')).toBe(false);
  });

  it('no_new_privs is set before ready; after it, only signals, fds and execve', () => {
    const sys = new FakeSyscalls();
    exec(sys, spec(user));
    const nnp = idx(sys.calls, (x) => x.name === 'prctl' && x.args[0] === PR.SET_NO_NEW_PRIVS);
    expect(nnp).toBe(readyAt.get(sys)! - 1);
    expect([...new Set(sys.calls.slice(readyAt.get(sys)!).map((x) => x.name))]).toEqual(['resetSignal', 'unblockAllSignals', 'closeRange', 'fcntlSetCloexec', 'execve']);
  });

  it('create re-arms the parent-death signal the uid change cleared; exec (the runtime waits for nothing) does not', () => {
    const pdeath = (sys: FakeSyscalls) => sys.calls.flatMap((x, i) => (x.name === 'prctl' && x.args[0] === PR.SET_PDEATHSIG ? [[i, x.args[1]]] : []));
    const created = new FakeSyscalls();
    exec(created, spec(user));
    const [[at, sig]] = pdeath(created) as [[number, number]];
    expect(sig).toBe(9);
    expect(at).toBeGreaterThan(idx(created.calls, (x) => x.name === 'setresuid'));
    const execd = new FakeSyscalls();
    exec(execd, spec(user), undefined, undefined, { mode: 'exec' });
    expect(pdeath(execd)).toEqual([]);
  });

  /** A libseccomp that records into the fake's call log, so its steps are ordered with the kernel calls. */
  const seccompInto = (sys: FakeSyscalls) => (): SeccompLib =>
    ({
      init: () => 'ctx',
      archAdd: () => undefined,
      resolveSyscall: (n: string) => (n === 'mkdir' ? 83 : -1),
      archToken: () => 0xc000003e,
      resolveSyscallArch: () => 83,
      ruleAdd: () => undefined,
      setAttr: () => undefined,
      exportBpf: () => (sys.calls.push({ name: 'seccompExport' as Call['name'], args: [] }), Buffer.alloc(8)),
      loadBpf: (_b: Buffer, flags: number) => (sys.calls.push({ name: 'seccompLoad' as Call['name'], args: [flags] }), 0),
      release: () => undefined,
    }) as SeccompLib;
  const withSeccomp = (nnp: boolean) => (s: AnySpec) => {
    user(s);
    s.process.noNewPrivileges = nnp;
    s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'rt_unit_nosuch'], action: 'SCMP_ACT_ERRNO' }] };
  };

  it('seccomp with no_new_privs: compiled before ready (its debug lines reach the runtime), loaded last, right before execve', () => {
    const sys = new FakeSyscalls();
    const debug: string[] = [];
    exec(sys, spec(withSeccomp(true)), undefined, undefined, { seccomp: seccompInto(sys), debug: (m) => debug.push(m) });
    const c = sys.calls;
    expect(idx(c, (x) => x.name === ('seccompExport' as Call['name']))).toBeLessThan(readyAt.get(sys)!);
    expect(debug).toContain('seccomp: skipping unknown syscall "rt_unit_nosuch"');
    const load = idx(c, (x) => x.name === ('seccompLoad' as Call['name']));
    expect(load).toBe(c.length - 2);
    expect(load).toBeGreaterThan(idx(c, (x) => x.name === 'prctl' && x.args[0] === PR.SET_NO_NEW_PRIVS));
    expect(c.at(-1)!.name).toBe('execve');
  });

  it('seccomp without no_new_privs: loaded before ready and before the capabilities go (it needs CAP_SYS_ADMIN)', () => {
    const sys = new FakeSyscalls();
    exec(sys, spec(withSeccomp(false)), undefined, undefined, { seccomp: seccompInto(sys) });
    const c = sys.calls;
    const load = idx(c, (x) => x.name === ('seccompLoad' as Call['name']));
    expect(load).toBeGreaterThan(idx(c, (x) => x.name === 'setrlimit'));
    expect(load).toBeLessThan(idx(c, (x) => x.name === 'prctl' && x.args[0] === PR.CAPBSET_DROP));
    expect(load).toBeLessThan(idx(c, (x) => x.name === 'setresuid'));
    expect(c.filter((x) => x.name === ('seccompLoad' as Call['name']))).toHaveLength(1);
    expect(c.some((x) => x.name === 'prctl' && x.args[0] === PR.SET_NO_NEW_PRIVS)).toBe(false);
  });
});
