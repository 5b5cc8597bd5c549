import { describe, expect, it } from 'vitest';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { CLONE, O } from '../../src/sys/constants.js';
import { inNamespaces, saveHostPlace } from '../../src/runtime/process/main-thread.js';
import { StageChannel, encodeFrame } from '../../src/runtime/process/stage-channel.js';
import { stagePlan } from '../../src/runtime/process/stage-plan.js';
import type { Process } from '../../src/spec/types.js';

// The CLI's side of the C stage on the recording fake: how the main thread
// walks into a container's namespaces and back, the frames it sends, and the
// plan it computes from a config.

const proc = (over: Partial<Process> = {}): Process =>
  ({ user: { uid: 1000, gid: 1000, additionalGids: [10] }, args: ['sh', '-c', 'true'], env: ['PATH=/bin'], cwd: '/home', ...over }) as Process;

describe('main thread: into the container\'s namespaces and back', () => {
  it('saves its place, unshares CLONE_FS once, enters in order (mount last), then returns mount first and restores root and cwd', () => {
    const sys = new FakeSyscalls();
    const seen: string[] = [];
    inNamespaces(sys, [{ type: 'mount' }, { type: 'network', path: '/run/netns/x' }, { type: 'pid' }, { type: 'uts' }], () => 'test', () => seen.push('inside'));
    const calls = sys.calls.map((c) => `${c.name} ${c.args.slice(0, 2).join(' ')}`);
    expect(calls).toEqual([
      `unshare ${CLONE.FS}`,
      `open /proc/thread-self/ns/uts ${O.RDONLY | O.CLOEXEC}`,
      `open /proc/thread-self/ns/net ${O.RDONLY | O.CLOEXEC}`,
      `open /proc/thread-self/ns/pid ${O.RDONLY | O.CLOEXEC}`,
      `open /proc/thread-self/ns/mnt ${O.RDONLY | O.CLOEXEC}`,
      `open / ${O.RDONLY | O.DIRECTORY | O.CLOEXEC}`,
      `open . ${O.RDONLY | O.DIRECTORY | O.CLOEXEC}`,
      `unshare ${CLONE.NEWUTS}`,
      `open /run/netns/x ${O.RDONLY | O.CLOEXEC}`,
      `setns 106 ${CLONE.NEWNET}`,
      'close 106',
      `unshare ${CLONE.NEWPID}`,
      `unshare ${CLONE.NEWNS}`,
      `setns 103 ${CLONE.NEWNS}`,
      `setns 102 ${CLONE.NEWPID}`,
      `setns 101 ${CLONE.NEWNET}`,
      `setns 100 ${CLONE.NEWUTS}`,
      'fchdir 104',
      'chroot .',
      'fchdir 105',
      'close 100', 'close 101', 'close 102', 'close 103', 'close 104', 'close 105',
    ]);
    expect(seen).toEqual(['inside']);
    // The fs struct is unshared only once per process.
    saveHostPlace(sys, []);
    expect(sys.names().filter((n) => n === 'unshare').length).toBe(4);
  });

  it('returns to the host even when the work inside fails', () => {
    const sys = new FakeSyscalls();
    expect(() => inNamespaces(sys, [{ type: 'mount' }], () => 'test', () => {
      throw new Error('mount failed');
    })).toThrow('mount failed');
    expect(sys.names().slice(-7)).toEqual(['setns', 'fchdir', 'chroot', 'fchdir', 'close', 'close', 'close']);
  });

  it('a failed return is fatal and says so', () => {
    const sys = new FakeSyscalls().failOn('setns', 'EPERM');
    expect(() => inNamespaces(sys, [{ type: 'mount' }], () => 'test', () => undefined)).toThrow(/could not return to the runtime's namespaces/);
  });
});

describe('stage protocol', () => {
  it('a frame is a little-endian length and key=value entries, op first', () => {
    const f = encodeFrame('plan', [['arg', 'a=b'], ['env', 'X=1']]);
    expect(f.readUInt32LE(0)).toBe(f.length - 4);
    expect(f.subarray(4).toString()).toBe('op=plan\0arg=a=b\0env=X=1\0');
  });

  it('sends fds named by an "fds" entry, and reads replies line by line, passing warnings and debug lines to the log', () => {
    const sys = new FakeSyscalls();
    const log: string[] = [];
    const ch = new StageChannel(sys, 7, (level, m) => log.push(`${level}: ${m}`));
    ch.send('plan', [['cwd', '/']], [{ name: 'root', fd: 9 }]);
    const sent = sys.calls.find((c) => c.name === 'sendmsgFds')!;
    expect((sent.args[1] as Buffer).subarray(4).toString()).toBe('op=plan\0cwd=/\0fds=root\0');
    expect(sent.args[2]).toEqual([9]);
    sys.recvQueue.push(Buffer.from('{"type":"debug","message":"capability 5 not raised"}\n{"type":"rea'), Buffer.from('dy"}\n'));
    ch.expect('ready');
    expect(log).toEqual(['debug: capability 5 not raised']);
    ch.expect('eof');
  });

  it('the seccomp listener fd that comes with a line goes to the handler, then is closed', () => {
    const sys = new FakeSyscalls();
    const ch = new StageChannel(sys, 7, () => undefined);
    const got: number[] = [];
    ch.onListenerFd = (fd) => got.push(fd);
    sys.recvQueue.push(Buffer.from('{"type":"seccompFd"}\n'), Buffer.from('{"type":"ready"}\n'));
    sys.recvFdsQueue.push([21]);
    ch.expect('ready');
    expect(got).toEqual([21]);
    expect(sys.calls.filter((c) => c.name === 'close').map((c) => c.args[0])).toEqual([21]);
  });

  it('a listener fd nobody asked for is closed and is an error', () => {
    const sys = new FakeSyscalls();
    const ch = new StageChannel(sys, 7, () => undefined);
    sys.recvQueue.push(Buffer.from('{"type":"seccompFd"}\n'));
    sys.recvFdsQueue.push([21]);
    expect(() => ch.expect('ready')).toThrow(/nobody asked for/);
    expect(sys.calls.some((c) => c.name === 'close' && c.args[0] === 21)).toBe(true);
  });

  it('a stage error becomes a TsrunError with its errno; an early EOF says the process died', () => {
    const sys = new FakeSyscalls();
    const ch = new StageChannel(sys, 7, () => undefined);
    sys.recvQueue.push(Buffer.from('{"type":"error","code":"INIT","message":"setresuid(1000): operation not permitted","errno":"EPERM"}\n'));
    expect(() => ch.expect('ready')).toThrow(expect.objectContaining({ message: 'setresuid(1000): operation not permitted', errno: 'EPERM' }));
    expect(() => ch.expect('ok')).toThrow(/exited before it was ready/);
  });
});

describe('stage plan', () => {
  it('lists what the stage applies, in its keys', () => {
    const plan = stagePlan({
      proc: proc({
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }],
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: ['CAP_KILL'] },
        noNewPrivileges: true,
      }),
      binary: '/bin/sh',
      env: ['PATH=/bin', 'HOME=/home'],
      seccomp: { bpf: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), flags: 1 },
      lastCap: 40,
      fifoFd: 4,
      state: { ociVersion: '1.2.0', id: 'c', status: 'created', pid: 42, bundle: '/b' },
      startContainer: [{ path: '/bin/hook', args: ['hook', 'x'], env: ['A=1'], timeout: 3 }],
    });
    expect(plan).toEqual([
      ['rlimit', '7 100 200'],
      ['umask', '22'],
      ['seccomp', '0102030405060708'],
      ['seccompflags', '1'],
      ['caps', '20 20 20 0'],
      ['lastcap', '40'],
      ['ambient', '5'],
      ['groups', '10'],
      ['user', '1000 1000'],
      ['nnp', '1'],
      ['cwd', '/home'],
      ['path', '/bin/sh'],
      ['arg', 'sh'], ['arg', '-c'], ['arg', 'true'],
      ['env', 'PATH=/bin'], ['env', 'HOME=/home'],
      ['fifo', '4'],
      ['state', '{"ociVersion":"1.2.0","id":"c","status":"created","pid":42,"bundle":"/b"}'],
      ['hook.path', '/bin/hook'], ['hook.arg', 'hook'], ['hook.arg', 'x'], ['hook.env', 'A=1'], ['hook.timeout', '3'],
    ]);
  });

  it('gives back the caller\'s RLIMIT_NOFILE when the config sets none; an unknown rlimit names its JSON path', () => {
    expect(stagePlan({ proc: proc(), binary: '/bin/sh', env: [], lastCap: 40, callerNofile: { soft: 1024n, hard: 524288n } })).toContainEqual(['rlimit', '7 1024 524288']);
    expect(() => stagePlan({ proc: proc({ rlimits: [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }] }), binary: '/bin/sh', env: [], lastCap: 40 })).toThrow(expect.objectContaining({ jsonPath: 'process.rlimits[0].type' }));
  });
});
