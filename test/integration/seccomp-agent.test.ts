import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, type Config } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, type Runtime } from '../helpers/differential.js';

// SCMP_ACT_NOTIFY with linux.seccomp.listenerPath: the runtime hands the
// listener fd and the container process state to a seccomp agent (here
// test/helpers/seccomp-agent.mjs), which answers the container's mkdir with
// EXDEV. Differential: Debian's runc 1.1.5 speaks the same protocol.

const d = new Differential('scagent');
const agents: ChildProcess[] = [];
afterAll(() => {
  for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
  expect(d.finish()).toEqual([]);
});

const EXDEV = 18;

/** Starts an agent on `socket`, writing what it got to `out`; resolves once it listens. */
async function startAgent(socket: string, out: string): Promise<ChildProcess> {
  rmSync(socket, { force: true });
  mkdirSync(out, { recursive: true });
  const a = spawn(process.execPath, [join(REPO, 'test/helpers/seccomp-agent.mjs'), socket, out, String(EXDEV)], { stdio: ['ignore', 'pipe', 'inherit'] });
  agents.push(a);
  await new Promise((res, rej) => {
    a.stdout!.once('data', res);
    a.once('exit', (code) => rej(new Error(`seccomp agent exited ${code}`)));
  });
  return a;
}

interface Received {
  ociVersion: string;
  fds: string[];
  pid: number;
  metadata?: string;
  state: { id: string; status: string; pid: number; bundle: string };
  receivedFds: number;
}
const received = (out: string): Received => JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')) as Received;
const notified = (out: string): number[] => (existsSync(join(out, 'notifications')) ? readFileSync(join(out, 'notifications'), 'utf8').trim().split('\n').map(Number) : []);

const notifyProfile = (socket: string | undefined, nnp: boolean) => (c: Config) => {
  c.process.noNewPrivileges = nnp;
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    ...(socket ? { listenerPath: socket, listenerMetadata: 'scagent-meta' } : {}),
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
};

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];

describe('seccomp agent (SCMP_ACT_NOTIFY, listenerPath)', () => {
  for (const nnp of [true, false]) {
    it(`the agent gets the listener fd and the state, and answers mkdir (noNewPrivileges ${nnp}); runc alike`, async () => {
      const name = `run${nnp ? 'n' : 'p'}`;
      const got: Record<string, { stdout: string; stderr: string; code: number | null; msg: Received; nrs: number[] }> = {};
      for (const rt of runtimes) {
        const socket = join(d.scratch.dir, `${name}-${rt}.sock`);
        const out = join(d.scratch.dir, `${name}-${rt}-agent`);
        const agent = await startAgent(socket, out);
        const b = d.bundle(rt, name, ['sh', '-c', 'mkdir /dev/shm/x; echo rc=$?; test -d /dev/shm/x || echo absent'], notifyProfile(socket, nnp));
        const r = d.run(rt, ['run', '-b', b, d.id(rt, name)]);
        // The agent exits once no process uses the filter.
        await new Promise((res) => (agent.exitCode !== null ? res(null) : agent.once('exit', res)));
        got[rt] = { ...r, msg: received(out), nrs: notified(out) };
      }
      const t = got.tsrun!;
      expect(t.code).toBe(0);
      expect(t.stdout).toBe('rc=1\nabsent\n');
      expect(t.stderr).toContain("can't create directory '/dev/shm/x': Invalid cross-device link");
      expect(t.nrs).toContain(83);
      expect(t.msg).toMatchObject({ fds: ['seccompFd'], metadata: 'scagent-meta', receivedFds: 1, state: { id: d.id('tsrun', name), status: 'creating' } });
      expect(t.msg.pid).toBe(t.msg.state.pid);
      expect(t.msg.pid).toBeGreaterThan(1);
      if (got.runc) {
        expect(t.stdout).toBe(got.runc.stdout);
        expect(got.runc.msg).toMatchObject({ fds: ['seccompFd'], metadata: 'scagent-meta', receivedFds: 1, state: { status: 'creating' } });
        expect(Object.keys(t.msg).sort()).toEqual(Object.keys(got.runc.msg).sort());
      }
    });
  }

  it('exec: the exec\'s own listener fd goes to the agent, with the state of the running container', async () => {
    const name = 'exec';
    const socket = join(d.scratch.dir, 'exec.sock');
    const first = join(d.scratch.dir, 'exec-agent-1');
    await startAgent(socket, first);
    const b = d.bundle('tsrun', name, ['sleep', '600'], notifyProfile(socket, true));
    const id = d.id('tsrun', name);
    expect(d.run('tsrun', ['run', '-d', '-b', b, id]).code).toBe(0);
    expect(received(first).state.status).toBe('creating');
    const second = join(d.scratch.dir, 'exec-agent-2');
    const agent = await startAgent(socket, second);
    const r = d.run('tsrun', ['exec', id, 'sh', '-c', 'mkdir /dev/shm/e; echo rc=$?']);
    await new Promise((res) => (agent.exitCode !== null ? res(null) : agent.once('exit', res)));
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toContain('Invalid cross-device link');
    expect(received(second)).toMatchObject({ fds: ['seccompFd'], state: { id, status: 'running' } });
    expect(received(second).pid).not.toBe(received(second).state.pid);
    expect(d.run('tsrun', ['delete', '--force', id]).code).toBe(0);
  });

  it('a container with a user namespace (the Node init sends the fd on the connection tsrun made): run and exec; runc alike for run', async () => {
    const userns = (c: Config) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 270000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 270000, size: 65536 }];
    };
    const outs: Record<string, string> = {};
    for (const rt of runtimes) {
      const socket = join(d.scratch.dir, `userns-${rt}.sock`);
      const out = join(d.scratch.dir, `userns-${rt}-agent`);
      const agent = await startAgent(socket, out);
      const b = d.bundle(rt, 'userns', ['sh', '-c', 'mkdir /dev/shm/x; echo rc=$?'], (c: Config) => {
        notifyProfile(socket, true)(c);
        userns(c);
      });
      const r = d.run(rt, ['run', '-b', b, d.id(rt, 'userns')]);
      await new Promise((res) => (agent.exitCode !== null ? res(null) : agent.once('exit', res)));
      expect(r.stderr, rt).toContain('Invalid cross-device link');
      expect(received(out), rt).toMatchObject({ fds: ['seccompFd'], metadata: 'scagent-meta', receivedFds: 1, state: { id: d.id(rt, 'userns'), status: 'creating' } });
      outs[rt] = r.stdout;
    }
    expect(outs.tsrun).toBe('rc=1\n');
    if (outs.runc !== undefined) expect(outs.tsrun).toBe(outs.runc);

    const socket = join(d.scratch.dir, 'userns-exec.sock');
    await startAgent(socket, join(d.scratch.dir, 'userns-exec-agent-1'));
    const b = d.bundle('tsrun', 'usexec', ['sleep', '600'], (c: Config) => {
      notifyProfile(socket, true)(c);
      userns(c);
    });
    const id = d.id('tsrun', 'usexec');
    expect(d.run('tsrun', ['run', '-d', '-b', b, id]).code).toBe(0);
    const second = join(d.scratch.dir, 'userns-exec-agent-2');
    const agent = await startAgent(socket, second);
    const r = d.run('tsrun', ['exec', id, 'sh', '-c', 'mkdir /dev/shm/e; echo rc=$?']);
    await new Promise((res) => (agent.exitCode !== null ? res(null) : agent.once('exit', res)));
    expect(r.stdout).toBe('rc=1\n');
    expect(received(second)).toMatchObject({ fds: ['seccompFd'], state: { id, status: 'running' } });
    expect(d.run('tsrun', ['delete', '--force', id]).code).toBe(0);
  });

  it('SCMP_ACT_NOTIFY without listenerPath fails create naming config.json and the JSON path, leaving nothing; runc fails too', () => {
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'nolistener', ['true'], notifyProfile(undefined, true));
      const r = d.run(rt, ['create', '-b', b, d.id(rt, 'nolistener')]);
      expect(r.code).not.toBe(0);
      if (rt === 'tsrun') {
        expect(r.stderr).toContain(`${join(b, 'config.json')}: linux.seccomp.listenerPath: linux.seccomp.syscalls[0].action is SCMP_ACT_NOTIFY`);
        expect(d.run(rt, ['list', '-q']).stdout.trim()).toBe('');
      }
    }
  });

  it('an agent that is not listening fails create naming listenerPath, leaving nothing', () => {
    const socket = join(d.scratch.dir, 'nobody.sock');
    const b = d.bundle('tsrun', 'noagent', ['true'], notifyProfile(socket, true));
    const r = d.run('tsrun', ['create', '-b', b, d.id('tsrun', 'noagent')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`linux.seccomp.listenerPath: cannot connect to the seccomp agent at ${socket}: ENOENT`);
    expect(d.run('tsrun', ['list', '-q']).stdout.trim()).toBe('');
  });
});
