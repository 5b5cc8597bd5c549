import { describe, expect, it } from 'vitest';
import { ACT, planSeccomp } from '../../src/runtime/seccomp/plan.js';
import { compileSeccomp, lastSyscalls, seccompFlags } from '../../src/runtime/seccomp/load.js';
import type { SeccompPlan } from '../../src/runtime/seccomp/plan.js';

/** What the Node init does with the filter the CLI compiled: seccomp(2) of the BPF with the plan's flags. */
const compileAndLoad = (lib: SeccompLib, plan: SeccompPlan, debug: (m: string) => void): number => lib.loadBpf(compileSeccomp(lib, plan, debug), seccompFlags(plan));
import { enosysStub, isPermissive } from '../../src/runtime/seccomp/enosys.js';
import { containerProcessState, sendToAgent } from '../../src/runtime/seccomp/agent.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import type { SeccompLib } from '../../src/runtime/seccomp/libseccomp.js';
import type { Seccomp } from '../../src/spec/types.js';
import { TsrunError } from '../../src/errors.js';

class FakeSeccomp implements SeccompLib {
  calls: string[] = [];
  known = new Map([['mkdir', 83], ['mkdirat', 258], ['getppid', 110], ['personality', 135]]);
  init(a: number) { this.calls.push(`init ${a.toString(16)}`); return 'ctx'; }
  archAdd(_c: unknown, arch: string) { this.calls.push(`arch ${arch}`); }
  resolveSyscall(name: string) { return this.known.get(name) ?? -1; }
  archToken(arch?: string) { return arch === undefined || arch === 'x86_64' ? 0xc000003e : arch === 'x86' ? 0x40000003 : 0; }
  resolveSyscallArch(arch: number, name: string) { return arch === 0xc000003e ? this.resolveSyscall(name) : (this.known.get(name) ?? -1001) + 1000; }
  ruleAdd(_c: unknown, action: number, nr: number, args: { arg: number; op: number; a: bigint }[]) {
    this.calls.push(`rule ${nr} ${action.toString(16)} ${args.map((x) => `${x.arg}${x.op}${x.a}`).join(',')}`);
  }
  setAttr(_c: unknown, attr: number, v: number) { this.calls.push(`attr ${attr}=${v}`); }
  loaded: { bpf: Buffer; flags: number }[] = [];
  loadBpf(bpf: Buffer, flags: number) { this.calls.push('load'); this.loaded.push({ bpf, flags }); return 0; }
  exportBpf() { this.calls.push('export'); return Buffer.alloc(8, 0xee); }
  release() { this.calls.push('release'); }
}

const profile = (over: Partial<Seccomp> = {}): Seccomp =>
  ({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [], ...over }) as Seccomp;

describe('seccomp plan', () => {
  it('maps actions, errno values and architectures', () => {
    const plan = planSeccomp(profile({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ALLOW' },
        { names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    } as Partial<Seccomp>));
    expect(plan.defaultAction).toBe((ACT.ERRNO | 38) >>> 0);
    expect(plan.arches).toEqual(['x86_64', 'x86']);
    expect(plan.rules.map((r) => [r.name, r.action])).toEqual([
      ['mkdir', ACT.ALLOW],
      ['mkdirat', ACT.ALLOW],
      ['getppid', ACT.KILL_PROCESS],
    ]);
  });

  it('drops rules whose action equals the default, and splits conditions on one argument', () => {
    const plan = planSeccomp(profile({
      syscalls: [
        { names: ['getppid'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [
          { index: 0, value: 0, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 8, op: 'SCMP_CMP_EQ' },
        ] },
      ],
    } as Partial<Seccomp>));
    expect(plan.rules).toHaveLength(2);
    expect(plan.rules.every((r) => r.name === 'personality' && r.args.length === 1)).toBe(true);
  });

  it('rejects an unknown action with its JSON path', () => {
    try {
      planSeccomp(profile({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOPE' }] } as unknown as Partial<Seccomp>));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TsrunError);
      expect((err as TsrunError).jsonPath).toBe('linux.seccomp.syscalls[0].action');
    }
  });
});

describe('seccomp notify (the seccomp agent)', () => {
  const jsonPathOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      return (err as TsrunError).jsonPath;
    }
    return undefined;
  };

  it('plans SCMP_ACT_NOTIFY with the listener, and asks seccomp(2) for a listener fd', () => {
    const plan = planSeccomp(profile({ listenerPath: '/run/agent.sock', listenerMetadata: 'm', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] } as Partial<Seccomp>));
    expect(plan.rules).toEqual([{ name: 'mkdir', action: ACT.NOTIFY, args: [] }]);
    expect(plan.listener).toEqual({ path: '/run/agent.sock', metadata: 'm' });
    expect(seccompFlags(plan) & 8).toBe(8);
    expect(seccompFlags(planSeccomp(profile({ listenerPath: '/run/agent.sock' } as Partial<Seccomp>)))).toBe(0);
  });

  it('refuses SCMP_ACT_NOTIFY without listenerPath, as the default action, or on the hand-over syscall, naming the JSON path', () => {
    expect(jsonPathOf(() => planSeccomp(profile({ syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_ALLOW' }, { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] } as Partial<Seccomp>)))).toBe('linux.seccomp.listenerPath');
    expect(() => planSeccomp(profile({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] } as Partial<Seccomp>))).toThrow(/syscalls\[0\]\.action is SCMP_ACT_NOTIFY/);
    expect(jsonPathOf(() => planSeccomp(profile({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' } as Partial<Seccomp>)))).toBe('linux.seccomp.defaultAction');
    expect(jsonPathOf(() => planSeccomp(profile({ listenerPath: '/a', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }] } as Partial<Seccomp>)))).toBe('linux.seccomp.syscalls[0].names');
  });

  it('the agent gets the container process state with the fd, in one message', () => {
    const sys = new FakeSyscalls();
    const msg = containerProcessState({ ociVersion: '1.2.0', id: 'c', status: 'creating', pid: 42, bundle: '/b' }, 42, 'meta');
    sendToAgent(sys, '/run/agent.sock', msg, 17);
    const sent = sys.calls.find((c) => c.name === 'sendmsgFds')!;
    expect(JSON.parse((sent.args[1] as Buffer).toString())).toEqual({ ociVersion: '1.2.0', fds: ['seccompFd'], pid: 42, metadata: 'meta', state: { ociVersion: '1.2.0', id: 'c', status: 'creating', pid: 42, bundle: '/b' } });
    expect(sent.args[2]).toEqual([17]);
    expect(sys.calls.map((c) => c.name)).toEqual(['socket', 'connect', 'sendmsgFds', 'close']);
  });

  it('an agent that is not there fails naming listenerPath, and the socket is closed', () => {
    const sys = new FakeSyscalls().failOn('connect', 'ECONNREFUSED');
    expect(() => sendToAgent(sys, '/run/agent.sock', containerProcessState({ ociVersion: '1.2.0', id: 'c', status: 'creating', bundle: '/b' }, 1), 17)).toThrow(
      'linux.seccomp.listenerPath: cannot connect to the seccomp agent at /run/agent.sock: ECONNREFUSED',
    );
    expect(sys.calls.at(-1)?.name).toBe('close');
  });
});

describe('seccomp load', () => {
  it('adds arches, leaves no_new_privs to tsrun, skips unknown syscalls, loads and releases', () => {
    const lib = new FakeSeccomp();
    const debug: string[] = [];
    const plan = planSeccomp(profile({
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['mkdir', 'not_a_syscall'], action: 'SCMP_ACT_ERRNO' }],
    } as Partial<Seccomp>));
    compileAndLoad(lib, plan, (m) => debug.push(m));
    expect(lib.calls).toEqual([
      'init 7fff0000',
      'arch x86_64',
      'arch x86',
      'attr 3=0',
      'rule 83 50001 ',
      'export',
      'release',
      'load',
    ]);
    // SECCOMP_FILTER_FLAG_LOG goes to seccomp(2); a permissive default needs no ENOSYS stub.
    expect(lib.loaded).toEqual([{ bpf: Buffer.alloc(8, 0xee), flags: 2 }]);
    expect(debug).toEqual(['seccomp: skipping unknown syscall "not_a_syscall"']);
  });

  it('releases the filter even when compiling fails', () => {
    const lib = new FakeSeccomp();
    lib.exportBpf = () => {
      throw new Error('EINVAL');
    };
    expect(() => compileAndLoad(lib, planSeccomp(profile()), () => undefined)).toThrow('EINVAL');
    expect(lib.calls.at(-1)).toBe('release');
  });
});

describe('seccomp in config.json', () => {
  it('accepts "args": null like runc (podman\'s profile has it)', async () => {
    const { parseSpec } = await import('../../src/spec/load.js');
    const spec = parseSpec({ ociVersion: '1.2.0', root: { path: 'rootfs' }, linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: null }] } } }, 'config.json');
    expect(planSeccomp(spec.linux!.seccomp!).rules).toEqual([{ name: 'mkdir', action: (ACT.ERRNO | 1) >>> 0, args: [] }]);
  });
});

describe('ENOSYS for syscalls newer than the profile (as runc)', () => {
  const X86_64 = 0xc000003e;
  const I386 = 0x40000003;
  /** Runs a classic BPF program on {nr, arch}: the action it returns, or "filter" when it falls off the end into what follows. */
  function run(prog: Buffer, nr: number, arch: number): number | 'filter' {
    let a = 0;
    for (let pc = 0; pc < prog.length / 8; pc++) {
      const code = prog.readUInt16LE(pc * 8);
      const jt = prog.readUInt8(pc * 8 + 2);
      const jf = prog.readUInt8(pc * 8 + 3);
      const k = prog.readUInt32LE(pc * 8 + 4);
      if (code === 0x20) a = k === 0 ? nr >>> 0 : k === 4 ? arch : Number.NaN;
      else if (code === 0x15) pc += a === k ? jt : jf;
      else if (code === 0x25) pc += a > k ? jt : jf;
      else if (code === 0x45) pc += (a & k) !== 0 ? jt : jf;
      else if (code === 0x06) return k;
      else throw new Error(`unexpected BPF code 0x${code.toString(16)}`);
    }
    return 'filter';
  }
  const ENOSYS = (ACT.ERRNO | 38) >>> 0;

  it('answers a syscall above the last one of its arch with ENOSYS, and passes the rest (x32, other arches) to the filter', () => {
    const stub = enosysStub([{ arch: X86_64, last: 434 }, { arch: I386, last: 300 }]);
    expect(run(stub, 435, X86_64)).toBe(ENOSYS);
    expect(run(stub, 1000, X86_64)).toBe(ENOSYS);
    expect(run(stub, 434, X86_64)).toBe('filter');
    expect(run(stub, 0, X86_64)).toBe('filter');
    expect(run(stub, 0x40000000 | 500, X86_64)).toBe('filter');
    expect(run(stub, 301, I386)).toBe(ENOSYS);
    expect(run(stub, 300, I386)).toBe('filter');
    expect(run(stub, 9999, 0xc00000b7)).toBe('filter');
  });

  it('goes in front of the filter only when the default action is not permissive; the last syscall is per arch, unknown names skipped', () => {
    const lib = new FakeSeccomp();
    const syscalls = [{ names: ['mkdir', 'not_a_syscall'], action: 'SCMP_ACT_ALLOW' }, { names: ['getppid'], action: 'SCMP_ACT_ERRNO' }];
    const strict = planSeccomp(profile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 13, syscalls } as Partial<Seccomp>));
    expect(strict.defaultAction).toBe((ACT.ERRNO | 13) >>> 0);
    // getppid's rule has the default's action (dropped from the rules) but still counts as known.
    expect(lastSyscalls(lib, strict)).toEqual([{ arch: X86_64, last: 110 }, { arch: I386, last: 1110 }]);
    const bpf = compileSeccomp(lib, strict, () => undefined);
    expect(bpf.subarray(bpf.length - 8)).toEqual(Buffer.alloc(8, 0xee));
    expect(run(bpf.subarray(0, bpf.length - 8), 111, X86_64)).toBe(ENOSYS);
    for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']) {
      expect(compileSeccomp(lib, planSeccomp(profile({ defaultAction, syscalls } as Partial<Seccomp>)), () => undefined)).toEqual(Buffer.alloc(8, 0xee));
    }
    expect(isPermissive(ACT.KILL_PROCESS)).toBe(false);
  });
});
