import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, ROOTFS, Scratch, isRoot, stateOf, tsrun, waitFor, type Config } from '../helpers/bundle.js';
import { leakedProcesses, trackSession } from '../helpers/leak-check.js';
import { expectNothingLeft, fails, finishFile, ok } from '../helpers/outcome.js';

// Issue 16 for containers with a user namespace, whose pid 1 is the Node
// init: what can fail before exec.fifo fails `create`; what fails after it
// (startContainer hooks) makes `start` and `run -d` fail, with the error
// printed once; skipped ambient capabilities reach --debug, not the
// container's stderr. Ids start with usst-.

const stageBuilt = existsSync(join(REPO, 'dist/userns-stage'));
const scratch = isRoot && stageBuilt ? new Scratch('usst') : undefined;
const root = scratch?.root ?? '';
const ids = new Set<string>();
const id = (name: string): string => {
  ids.add(`usst-${name}`);
  return `usst-${name}`;
};

afterAll(() => {
  if (scratch) finishFile({ root, scratch, ids, dirs: [scratch.dir, ROOTFS] });
});

/** The busybox bundle in a new user namespace, root mapped to 300000 (a tmpfs on /tmp, for the hooks to write in). */
const mapped = (args: string[], edit?: (c: Config) => void): string =>
  scratch!.bundle(args, (c: Config) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
    edit?.(c);
  });

/** The container's cgroup dirs, in every hierarchy: /sys/fs/cgroup[/<controller>]/tsrun*\/<id>. */
function cgroupDirs(cid: string): string[] {
  const base = '/sys/fs/cgroup';
  const tops = existsSync(join(base, 'cgroup.controllers')) ? [base] : readdirSync(base).map((d) => join(base, d));
  const out: string[] = [];
  for (const top of tops) {
    let parents: string[] = [];
    try {
      parents = readdirSync(top).filter((n) => n.startsWith('tsrun'));
    } catch {
      continue;
    }
    for (const p of parents) if (existsSync(join(top, p, cid))) out.push(join(top, p, cid));
  }
  return out;
}

const nothingLeft = (cid: string): void => {
  expectNothingLeft(root, [scratch!.dir, ROOTFS]);
  expect(cgroupDirs(cid)).toEqual([]);
};

/** Like tsrun(), but the stderr file (which a created container's process inherits) can be read again later. */
function cli(args: string[]): { code: number | null; stdout: string; stderr: () => string } {
  const dir = mkdtempSync(join(scratch!.dir, 'cli-'));
  const [out, err] = [join(dir, 'out'), join(dir, 'err')];
  const fds = [openSync(out, 'w+'), openSync(err, 'w+')];
  let r;
  try {
    r = spawnSync(process.execPath, [CLI, '--root', root, ...args], { timeout: 30_000, stdio: ['ignore', fds[0]!, fds[1]!], detached: true } as Parameters<typeof spawnSync>[2]);
  } finally {
    fds.forEach(closeSync);
  }
  trackSession(r.pid);
  return { code: r.status, stdout: readFileSync(out, 'utf8'), stderr: () => readFileSync(err, 'utf8') };
}

const count = (text: string, word: string): number => text.split(word).length - 1;

/** `runc spec`'s capabilities (ambient without inheritable), or the same written out when runc is not installed. */
function runcSpecCaps(): Config {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-usst-runc-spec-'));
  try {
    const r = spawnSync('runc', ['spec', '--bundle', dir], { encoding: 'utf8' });
    if (r.status === 0) return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).process.capabilities;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return { bounding: caps, effective: caps, permitted: caps, ambient: caps };
}

describe.skipIf(!scratch)('user namespaces: errors before exec.fifo fail create, after it start', () => {
  it('an rlimit the kernel refuses fails create with the error and leaves nothing (state, cgroups, mounts, processes)', () => {
    const c = id('rlimit');
    const r = tsrun(root, ['create', '-b', mapped(['true'], (cfg) => (cfg.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2 ** 31, hard: 2 ** 31 }])), c]);
    fails(r, 'setrlimit(7', 'EPERM');
    expect(stateOf(root, c)).toBeUndefined();
    nothingLeft(c);
  });

  it('a uid the user namespace does not map fails create, not start', () => {
    const c = id('uid');
    const r = tsrun(root, ['create', '-b', mapped(['true'], (cfg) => (cfg.process.user = { uid: 70000, gid: 0 })), c]);
    fails(r, 'setresuid(70000');
    nothingLeft(c);
  });

  it('runc spec\'s capabilities (ambient, no inheritable): the container runs without ambient caps; --debug names each skipped cap, the container\'s stderr never', () => {
    const caps = runcSpecCaps();
    expect(caps.inheritable ?? []).toEqual([]);
    const bundle = mapped(['sh', '-c', 'grep -E "Cap(Amb|Eff)" /proc/self/status'], (cfg) => (cfg.process.capabilities = caps));
    const r = tsrun(root, ['--debug', 'run', '-b', bundle, id('ambient')]);
    ok(r);
    expect(r.stdout).toContain('CapAmb:\t0000000000000000');
    expect(r.stdout).toContain('CapEff:\t0000000020000420');
    for (const cap of caps.ambient) expect(r.stderr).toContain(`tsrun: debug: process.capabilities.ambient: ${cap} (capability`);
    expect(count(r.stderr, 'not raised')).toBe(caps.ambient.length);
    expect(r.stderr).not.toContain('warning');

    // With --log, the lines go to the log file: the stderr the container shares with the CLI has none.
    const log = join(scratch!.dir, 'ambient.log');
    const l = tsrun(root, ['--debug', '--log', log, 'run', '-b', bundle, id('ambient-log')]);
    ok(l);
    expect(l.stderr).not.toContain('not raised');
    expect(readFileSync(log, 'utf8')).toMatch(/debug: process\.capabilities\.ambient: CAP_KILL \(capability 5\) not raised/);
    // without --debug: nothing
    const q = tsrun(root, ['run', '-b', bundle, id('ambient-quiet')]);
    ok(q);
    expect(q.stderr).toBe('');
  });

  it('an unknown capability name: create warns once, through the runtime, and the process does not warn again at start', async () => {
    const c = id('cap-unknown');
    const bundle = mapped(['true'], (cfg) => cfg.process.capabilities.bounding.push('CAP_USST_BOGUS'));
    const created = cli(['create', '-b', bundle, c]);
    expect(created.code, created.stderr()).toBe(0);
    expect(created.stderr()).toContain('tsrun: warning: process.capabilities: ignoring unknown capabilities: CAP_USST_BOGUS');
    ok(tsrun(root, ['start', c]));
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'stopped');
    expect(count(created.stderr(), 'CAP_USST_BOGUS')).toBe(1);
    ok(tsrun(root, ['delete', c]));
  });

  it('a startContainer hook runs in the container (no setpriv there), with the container\'s credentials, after start', async () => {
    const c = id('hook-ok');
    const bundle = mapped(['sh', '-c', 'cat /tmp/hook'], (cfg) => {
      cfg.process.user = { uid: 1000, gid: 1000 };
      cfg.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo "hook uid=$(id -u) status=$(grep -o \'"status":"[a-z]*"\')" > /tmp/hook'] }] };
    });
    expect(existsSync(join(ROOTFS, 'usr/bin/setpriv'))).toBe(false);
    ok(tsrun(root, ['create', '-b', bundle, c]));
    ok(tsrun(root, ['start', c]));
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'stopped');
    ok(tsrun(root, ['delete', c]));
    const r = tsrun(root, ['run', '-b', bundle, id('hook-ok-run')]);
    ok(r);
    expect(r.stdout.trim()).toBe('hook uid=1000 status="status":"created"');
  });

  it('a failing startContainer hook makes start exit non-zero with the error, printed once (not also on the container\'s stderr)', async () => {
    const c = id('hook-fail');
    const bundle = mapped(['sh', '-c', 'echo usst-should-not-run'], (cfg) => {
      cfg.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo usst-hook-said-no >&2; exit 3'] }] };
    });
    const created = cli(['create', '-b', bundle, c]);
    expect(created.code, created.stderr()).toBe(0);
    const r = tsrun(root, ['start', c]);
    fails(r, 'startContainer hook #0 (/bin/sh)', 'exit status 3', 'usst-hook-said-no');
    expect(count(r.stderr, 'exit status 3')).toBe(1);
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'stopped');
    // The init is gone: whatever it wrote to the stderr it was given is in the file now.
    expect(created.stderr()).not.toContain('exit status 3');
    expect(created.stdout + created.stderr()).not.toContain('usst-should-not-run');
    ok(tsrun(root, ['delete', c]));
    nothingLeft(c);
  });

  it('run -d: a failing startContainer hook makes it exit non-zero with the error once, and removes what it made', async () => {
    const c = id('hook-fail-d');
    const r = cli(['run', '-d', '-b', mapped(['sleep', '30'], (cfg) => {
      cfg.hooks = { startContainer: [{ path: '/bin/false' }] };
    }), c]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    await waitFor(() => leakedProcesses().length === 0, 'the init gone');
    const err = r.stderr();
    expect(err).toContain('startContainer hook #0 (/bin/false): exit status 1');
    expect(count(err, 'startContainer hook #0')).toBe(1);
    nothingLeft(c);
  });

  it('a startContainer hook missing from the container: start says so, once', async () => {
    const c = id('hook-missing');
    // The host has it, the container does not: it is looked up in the container.
    const hostOnly = '/usr/bin/setpriv';
    expect(statSync(hostOnly).isFile()).toBe(true);
    const created = cli(['create', '-b', mapped(['true'], (cfg) => (cfg.hooks = { startContainer: [{ path: hostOnly, args: ['setpriv', '--help'] }] })), c]);
    expect(created.code, created.stderr()).toBe(0);
    const r = tsrun(root, ['start', c]);
    fails(r, `startContainer hook #0 (${hostOnly}): cannot execute ${hostOnly} in the container: no such file or directory`);
    expect(r.stderr).not.toContain('spawnSync');
    expect(count(r.stderr, 'no such file or directory')).toBe(1);
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'stopped');
    expect(created.stderr()).toBe('');
    ok(tsrun(root, ['delete', c]));
    nothingLeft(c);
  });
});
