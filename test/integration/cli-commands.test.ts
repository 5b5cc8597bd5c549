import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot, waitFor, type Result } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, status, type Runtime } from '../helpers/differential.js';

// exec, ps, events, update, paused containers and sub-cgroups, each run by
// tsrun and by Debian's runc on the same bundle and compared: output, exit
// codes and the cgroup files they leave. Ids and cgroups start with clic-.

const d = isRoot && hasRunc ? new Differential('clic') : undefined;

afterAll(() => {
  if (d) expect(d.finish()).toEqual([]);
});

function ok(r: Record<Runtime, Result>): Record<Runtime, Result> {
  for (const rt of RUNTIMES) expect(r[rt].code, `${rt}: ${r[rt].stderr}`).toBe(0);
  return r;
}

function same(r: Record<Runtime, Result>): string {
  ok(r);
  expect(r.tsrun.stdout).toBe(r.runc.stdout);
  return r.tsrun.stdout;
}

function failBoth(r: Record<Runtime, Result>, code: number, ...words: string[]): void {
  for (const rt of RUNTIMES) {
    expect(r[rt].code, `${rt}: ${r[rt].stderr}`).toBe(code);
    for (const w of words) expect(r[rt].stderr, rt).toContain(w);
  }
}

/** Creates and starts `name` in both runtimes. */
function runBoth(name: string, args: string[], edit?: (cfg: Record<string, any>) => void): void {
  for (const rt of RUNTIMES) {
    const r = d!.run(rt, ['run', '-d', '-b', d!.bundle(rt, name, args, edit), d!.id(rt, name)]);
    expect(r.code, `${rt} run: ${r.stderr}`).toBe(0);
  }
}

const cg = (rt: Runtime, name: string, controller: string, file: string): string => readFileSync(join(d!.cgroupDir(rt, name, controller), file), 'utf8').trim();

/** The container's own cgroup directories, in every hierarchy the runtime made one. */
function cgroupDirs(rt: Runtime, name: string): string[] {
  return readdirSync('/sys/fs/cgroup').map((c) => d!.cgroupDir(rt, name, c)).filter((p) => existsSync(p));
}

describe.skipIf(!d)('exec: the command line is the container\'s, flags map to the process', () => {
  it('flags end at the first positional; exit codes pass through; 255 for tsrun\'s own failures', () => {
    runBoth('ex', ['sleep', '1000']);
    expect(same(d!.both('ex', ['exec', '{id}', 'echo', 'hello', '--explain']))).toBe('hello --explain\n');
    expect(same(d!.both('ex', ['exec', '{id}', 'echo', '-h']))).toBe('-h\n');
    expect(same(d!.both('ex', ['exec', '{id}', 'df', '-h', '/'])).split('\n')[0]).toMatch(/^Filesystem/);
    const seven = d!.both('ex', ['exec', '{id}', 'sh', '-c', 'exit 7']);
    for (const rt of RUNTIMES) expect(seven[rt].code, rt).toBe(7);
    failBoth(d!.both('ex', ['exec', '--pid-file', join(d!.scratch.dir, 'no/such/dir/pid'), '{id}', 'true']), 255);
  });

  it('--env, --cwd, --user, --additional-gids, --cap, --no-new-privs', () => {
    expect(same(d!.both('ex', ['exec', '-e', 'FOO=bar', '-e', 'BAZ=1', '{id}', 'sh', '-c', 'echo $FOO$BAZ']))).toBe('bar1\n');
    expect(same(d!.both('ex', ['exec', '--env', 'FOO=bar', '{id}', 'sh', '-c', 'echo $FOO']))).toBe('bar\n');
    expect(same(d!.both('ex', ['exec', '--cwd', '/tmp', '{id}', 'pwd']))).toBe('/tmp\n');
    expect(same(d!.both('ex', ['exec', '-u', '1000:1000', '-g', '10', '-g', '20', '{id}', 'id']))).toMatch(/uid=1000.*gid=1000.*10.*20/);
    same(d!.both('ex', ['exec', '-u', '1000', '{id}', 'id']));
    expect(same(d!.both('ex', ['exec', '--cap', 'CAP_SYS_ADMIN', '{id}', 'grep', '^CapBnd', '/proc/self/status']))).not.toBe(same(d!.both('ex', ['exec', '{id}', 'grep', '^CapBnd', '/proc/self/status'])));
    for (const field of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb']) same(d!.both('ex', ['exec', '-c', 'CAP_SYS_ADMIN', '{id}', 'grep', `^${field}`, '/proc/self/status']));
    expect(same(d!.both('ex', ['exec', '--no-new-privs', '{id}', 'grep', 'NoNewPrivs', '/proc/self/status']))).toMatch(/NoNewPrivs:\s+1/);
  });

  it('--apparmor and --process-label are accepted (tsrun applies neither, like the config\'s own fields)', () => {
    // Not differential: on this host (no AppArmor, no SELinux) runc refuses both at exec time.
    const r = d!.run('tsrun', ['exec', '--apparmor', 'clic-profile', '--process-label', 'system_u:system_r:clic_t:s0', d!.id('tsrun', 'ex'), 'true']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('--preserve-fds N passes fds 3… on', () => {
    for (const rt of RUNTIMES) {
      const file = join(d!.scratch.dir, `${rt}-fd3.txt`);
      writeFileSync(file, '');
      const fd = openSync(file, 'w');
      try {
        const r = d!.run(rt, ['exec', '--preserve-fds', '1', d!.id(rt, 'ex'), 'sh', '-c', 'echo through-fd-3 >&3'], { extraFds: [fd] });
        expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(file, 'utf8'), rt).toBe('through-fd-3\n');
    }
  });

  it('--detach --pid-file: the pid file names a process of the container', () => {
    for (const rt of RUNTIMES) {
      const pidFile = join(d!.scratch.dir, `${rt}-exec.pid`);
      const r = d!.run(rt, ['exec', '-d', '--pid-file', pidFile, d!.id(rt, 'ex'), 'sleep', '1000']);
      expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
      const pids = JSON.parse(d!.run(rt, ['ps', '--format', 'json', d!.id(rt, 'ex')]).stdout) as number[];
      expect(pids, rt).toContain(Number(readFileSync(pidFile, 'utf8')));
      expect(pids, rt).toHaveLength(2);
    }
    ok(d!.both('ex', ['delete', '--force', '{id}']));
  });
});

describe.skipIf(!d)('ps: ps(1) with the given options, only the container\'s rows', () => {
  it('default -ef, given options, json', () => {
    runBoth('ps', ['sleep', '1000']);
    const def = ok(d!.both('ps', ['ps', '{id}']));
    for (const rt of RUNTIMES) {
      const lines = def[rt].stdout.trim().split('\n');
      expect(lines, rt).toHaveLength(2);
      expect(lines[0], rt).toMatch(/^UID\s+PID\s+PPID/);
      expect(lines[1], rt).toMatch(/sleep 1000$/);
    }
    expect(def.tsrun.stdout.split('\n')[0]).toBe(def.runc.stdout.split('\n')[0]);
    const opts = ok(d!.both('ps', ['ps', '{id}', '-o', 'pid,comm']));
    for (const rt of RUNTIMES) {
      const pid = (JSON.parse(d!.run(rt, ['state', d!.id(rt, 'ps')]).stdout) as { pid: number }).pid;
      expect(opts[rt].stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)), rt).toEqual([['PID', 'COMMAND'], [String(pid), 'sleep']]);
      expect(JSON.parse(d!.run(rt, ['ps', '-f', 'json', d!.id(rt, 'ps')]).stdout), rt).toEqual([pid]);
    }
    ok(d!.both('ps', ['delete', '--force', '{id}']));
  });
});

describe.skipIf(!d)('update: new limits in the cgroup files, device rules kept', () => {
  const MiB = 2 ** 20;
  it('flags, a resources file, stdin; cpu period or quota alone; a paused container', () => {
    runBoth('up', ['sleep', '1000']);
    const devices = Object.fromEntries(RUNTIMES.map((rt) => [rt, cg(rt, 'up', 'devices', 'devices.list')]));
    ok(d!.both('up', ['update', '--memory', '64m', '--memory-swap', '128m', '--memory-reservation', '32m', '--cpu-share', '512', '--cpu-period', '50000', '--cpu-quota', '25000', '--cpuset-cpus', '0', '--pids-limit', '30', '{id}']));
    const files: [string, string, string][] = [
      ['memory', 'memory.limit_in_bytes', String(64 * MiB)],
      ['memory', 'memory.memsw.limit_in_bytes', String(128 * MiB)],
      ['memory', 'memory.soft_limit_in_bytes', String(32 * MiB)],
      ['cpu', 'cpu.shares', '512'],
      ['cpu', 'cpu.cfs_period_us', '50000'],
      ['cpu', 'cpu.cfs_quota_us', '25000'],
      ['cpuset', 'cpuset.cpus', '0'],
      ['pids', 'pids.max', '30'],
    ];
    for (const rt of RUNTIMES) for (const [c, f, v] of files) expect(cg(rt, 'up', c, f), `${rt} ${f}`).toBe(v);
    // a period alone keeps the quota; a quota alone keeps the period
    ok(d!.both('up', ['update', '--cpu-period', '100000', '{id}']));
    for (const rt of RUNTIMES) expect([cg(rt, 'up', 'cpu', 'cpu.cfs_period_us'), cg(rt, 'up', 'cpu', 'cpu.cfs_quota_us')], rt).toEqual(['100000', '25000']);
    ok(d!.both('up', ['update', '--cpu-quota', '30000', '{id}']));
    for (const rt of RUNTIMES) expect([cg(rt, 'up', 'cpu', 'cpu.cfs_period_us'), cg(rt, 'up', 'cpu', 'cpu.cfs_quota_us')], rt).toEqual(['100000', '30000']);
    // -r FILE and -r - (stdin): linux.resources JSON
    const res = join(d!.scratch.dir, 'resources.json');
    writeFileSync(res, JSON.stringify({ memory: { limit: 96 * MiB, swap: 192 * MiB }, pids: { limit: 40 } }));
    ok(d!.both('up', ['update', '-r', res, '{id}']));
    ok(d!.both('up', ['update', '--resources', '-', '{id}'], { input: JSON.stringify({ cpu: { shares: 256 } }) }));
    for (const rt of RUNTIMES) {
      expect(cg(rt, 'up', 'memory', 'memory.limit_in_bytes'), rt).toBe(String(96 * MiB));
      expect(cg(rt, 'up', 'pids', 'pids.max'), rt).toBe('40');
      expect(cg(rt, 'up', 'cpu', 'cpu.shares'), rt).toBe('256');
    }
    // paused: the writes go through, and nothing hangs
    ok(d!.both('up', ['pause', '{id}']));
    ok(d!.both('up', ['update', '--memory', '80m', '{id}']));
    for (const rt of RUNTIMES) expect(cg(rt, 'up', 'memory', 'memory.limit_in_bytes'), rt).toBe(String(80 * MiB));
    ok(d!.both('up', ['resume', '{id}']));
    for (const rt of RUNTIMES) expect(cg(rt, 'up', 'devices', 'devices.list'), `${rt} device rules`).toBe(devices[rt]);
  });

  it('events --stats shows the new limits, in runc\'s shape', () => {
    const ev = ok(d!.both('up', ['events', '--stats', '{id}']));
    const parsed = Object.fromEntries(RUNTIMES.map((rt) => [rt, JSON.parse(ev[rt].stdout) as { type: string; id: string; data: Record<string, any> }]));
    for (const rt of RUNTIMES) {
      const e = parsed[rt]!;
      expect(e.type, rt).toBe('stats');
      expect(e.id, rt).toBe(d!.id(rt, 'up'));
      expect(e.data.memory.usage.limit, rt).toBe(80 * MiB);
      expect(e.data.pids, rt).toMatchObject({ current: 1, limit: 40 });
      expect(e.data.cpu.usage.total, rt).toBeGreaterThan(0);
    }
    const keys = (o: Record<string, unknown>) => Object.keys(o).sort();
    expect(keys(parsed.tsrun!.data)).toEqual(keys(parsed.runc!.data));
    for (const k of ['memory', 'pids', 'cpuset']) expect(keys(parsed.tsrun!.data[k]), k).toEqual(keys(parsed.runc!.data[k]));
    expect(keys(parsed.tsrun!.data.memory.usage)).toEqual(keys(parsed.runc!.data.memory.usage));
    expect(keys(parsed.tsrun!.data.cpu.usage)).toEqual(keys(parsed.runc!.data.cpu.usage));
  });

  it('bad values fail, naming the flag, and change nothing', () => {
    for (const [flag, value] of [['--memory', 'abc'], ['--cpu-quota', 'x'], ['--pids-limit', '1.5'], ['--cpu-share', 'many']] as const) {
      failBoth(d!.both('up', ['update', flag, value, '{id}']), 1, flag.slice(2));
    }
    failBoth(d!.both('up', ['update', '-r', '-', '{id}'], { input: '{"memory": ' }), 1);
    for (const rt of RUNTIMES) expect(cg(rt, 'up', 'memory', 'memory.limit_in_bytes'), rt).toBe(String(80 * MiB));
    ok(d!.both('up', ['delete', '--force', '{id}']));
  });
});

describe.skipIf(!d)('events: stats every interval, and OOM events', () => {
  it('an OOM kill in the container is reported as {"type":"oom"}', async () => {
    // 16 MiB of memory+swap; tail keeps a 64 MiB line in memory and is OOM-killed; the container lives on.
    // tail raises its own oom_score_adj, so the OOM killer picks it and never the container's pid 1.
    const script = "read go; head -c 67108864 /dev/zero | sh -c 'echo 1000 > /proc/self/oom_score_adj; exec tail -c 67108864 >/dev/null'; exec sleep 1000";
    for (const rt of RUNTIMES) {
      const b = d!.bundle(rt, 'oom', ['sh', '-c', script], (cfg) => {
        cfg.linux.resources = { ...cfg.linux.resources, memory: { limit: 16 * 2 ** 20, swap: 16 * 2 ** 20 } };
      });
      const r = d!.run(rt, ['create', '-b', b, d!.id(rt, 'oom')]);
      expect(r.code, r.stderr).toBe(0);
    }
    const watchers = RUNTIMES.map((rt) => ({ rt, w: d!.start(rt, ['events', '--interval', '200ms', d!.id(rt, 'oom')]) }));
    try {
      // the stats stream runs before anything happens
      for (const { rt, w } of watchers) await waitFor(() => /"type":"stats"/.test(w.out()), `${rt} stats events`);
      ok(d!.both('oom', ['start', '{id}']));
      for (const { rt, w } of watchers) await waitFor(() => w.out().includes(`{"type":"oom","id":"${d!.id(rt, 'oom')}"`), `${rt} oom event`);
      // The container usually lives on (tail is the task the OOM killer picks), but under memory
      // pressure from the rest of the suite the kernel sometimes kills pid 1 too, for either
      // runtime (seen for runc 1 run in 3, for tsrun once in a parallel suite): not checked.
      for (const rt of RUNTIMES) {
        if (status(d!, rt, d!.id(rt, 'oom')) !== 'running') continue; // stopped by the kernel
        const k = d!.run(rt, ['kill', d!.id(rt, 'oom'), 'KILL']);
        expect(k.code, `${rt}: ${k.stderr}`).toBe(0);
      }
      // tsrun's events ends once the container has stopped (runc's keeps printing until killed)
      expect(await watchers[0]!.w.done).toBe(0);
    } finally {
      for (const { w } of watchers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    ok(d!.both('oom', ['delete', '--force', '{id}']));
  });
});

describe.skipIf(!d)('paused containers and sub-cgroups never hang anything', () => {
  it('delete --force of a paused container kills, thaws and leaves no frozen process', () => {
    runBoth('pz', ['sh', '-c', 'sleep 1000 & sleep 1000']);
    const pids = Object.fromEntries(RUNTIMES.map((rt) => [rt, JSON.parse(d!.run(rt, ['ps', '-f', 'json', d!.id(rt, 'pz')]).stdout) as number[]]));
    for (const rt of RUNTIMES) expect(pids[rt], rt).toHaveLength(2);
    ok(d!.both('pz', ['pause', '{id}']));
    ok(d!.both('pz', ['delete', '--force', '{id}']));
    for (const rt of RUNTIMES) {
      for (const pid of pids[rt]!) expect(existsSync(`/proc/${pid}`) && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), `${rt} pid ${pid}`).toBe(false);
      expect(cgroupDirs(rt, 'pz'), rt).toEqual([]);
    }
  });

  it('exec --ignore-paused into a paused container returns; the process is frozen with the container (tsrun only: runc hangs)', async () => {
    const id = d!.id('tsrun', 'ign');
    expect(d!.run('tsrun', ['run', '-d', '-b', d!.bundle('tsrun', 'ign', ['sleep', '1000']), id]).code).toBe(0);
    expect(d!.run('tsrun', ['pause', id]).code).toBe(0);
    const pidFile = join(d!.scratch.dir, 'ign.pid');
    const r = d!.run('tsrun', ['exec', '-d', '--ignore-paused', '--pid-file', pidFile, id, 'sleep', '1000']);
    expect(r.code, r.stderr).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(join(d!.cgroupDir('tsrun', 'ign', 'freezer'), 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
    expect(readFileSync(join(d!.cgroupDir('tsrun', 'ign', 'freezer'), 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
    // in the foreground it waits for the container to be resumed, then reports the exit
    const fg = d!.start('tsrun', ['exec', '--ignore-paused', id, 'sh', '-c', 'echo resumed']);
    await waitFor(() => fg.child.pid !== undefined && status(d!, 'tsrun', id) === 'paused', 'paused');
    expect(d!.run('tsrun', ['resume', id]).code).toBe(0);
    expect(await fg.done).toBe(0);
    expect(fg.out()).toBe('resumed\n');
    expect(d!.run('tsrun', ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(`/proc/${pid}`) && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
  });

  it('exec --cgroup runs in a sub-cgroup; delete --force removes a cgroup with sub-cgroups', () => {
    runBoth('sub', ['sleep', '1000']);
    for (const rt of RUNTIMES) {
      for (const dir of cgroupDirs(rt, 'sub')) {
        const inner = d!.mkCgroup(join(dir, 'inner'));
        // a new v1 cpuset cgroup takes no task until it has cpus and mems
        for (const f of ['cpuset.cpus', 'cpuset.mems']) if (existsSync(join(dir, f))) writeFileSync(join(inner, f), readFileSync(join(dir, f), 'utf8'));
      }
    }
    const all = ok(d!.both('sub', ['exec', '--cgroup', 'inner', '{id}', 'cat', '/proc/self/cgroup']));
    const one = ok(d!.both('sub', ['exec', '--cgroup', 'memory:inner', '{id}', 'cat', '/proc/self/cgroup']));
    for (const rt of RUNTIMES) {
      const line = (out: string, c: string) => out.split('\n').find((l) => l.split(':')[1]?.split(',').includes(c)) ?? '';
      expect(line(all[rt].stdout, 'memory'), rt).toMatch(/:\/inner$/);
      expect(line(all[rt].stdout, 'pids'), rt).toMatch(/:\/inner$/);
      expect(line(one[rt].stdout, 'memory'), rt).toMatch(/:\/inner$/);
      expect(line(one[rt].stdout, 'pids'), rt).toMatch(/:\/$/);
    }
    failBoth(d!.both('sub', ['exec', '--cgroup', 'nope', '{id}', 'true']), 255);
    ok(d!.both('sub', ['exec', '-d', '--cgroup', 'inner', '{id}', 'sleep', '1000']));
    for (const rt of RUNTIMES) expect(readFileSync(join(d!.cgroupDir(rt, 'sub', 'pids'), 'inner', 'cgroup.procs'), 'utf8').trim(), rt).toMatch(/^\d+$/);
    ok(d!.both('sub', ['delete', '--force', '{id}']));
    for (const rt of RUNTIMES) expect(cgroupDirs(rt, 'sub'), rt).toEqual([]);
  });

  it('a pre-existing frozen cgroup: create fails at once with runc\'s words, nothing left', () => {
    for (const rt of RUNTIMES) {
      const dir = d!.mkCgroup(d!.cgroupDir(rt, 'frz', 'freezer'));
      writeFileSync(join(dir, 'freezer.state'), 'FROZEN');
    }
    for (const rt of RUNTIMES) {
      const r = d!.run(rt, ['create', '-b', d!.bundle(rt, 'frz', ['true']), d!.id(rt, 'frz')]);
      expect(r.code, rt).toBe(1);
      expect(r.stderr, rt).toContain("container's cgroup unexpectedly frozen");
    }
    failBoth(d!.both('frz', ['state', '{id}']), 1, 'does not exist');
    for (const rt of RUNTIMES) {
      writeFileSync(join(d!.cgroupDir(rt, 'frz', 'freezer'), 'freezer.state'), 'THAWED');
      expect(cgroupDirs(rt, 'frz').filter((p) => !p.includes('/freezer/')), rt).toEqual([]);
    }
  });
});

describe.skipIf(!d)('help, version, debug', () => {
  it('-h/--help prints usage and exits 0 in a flag position; an unknown command fails', () => {
    for (const args of [[], ['-h'], ['--help'], ['help', 'kill'], ['exec', '-h'], ['kill', '--help'], ['update', '-h'], ['state', 'x', '-h']]) {
      const r = d!.both('help', args);
      for (const rt of RUNTIMES) {
        expect(r[rt].code, `${rt} ${args.join(' ')}`).toBe(0);
        expect(r[rt].stdout, `${rt} ${args.join(' ')}`).toMatch(/usage/i);
      }
    }
    const bogus = d!.both('help', ['bogus']);
    for (const rt of RUNTIMES) expect(bogus[rt].code, rt).not.toBe(0);
    expect(bogus.tsrun.stderr).toContain('unknown command "bogus"');
    expect(bogus.tsrun.stderr).toMatch(/^usage: tsrun/m);
  });

  it('--version: "NAME version X", "spec: …" on lines of their own', () => {
    const r = ok(d!.both('v', ['--version']));
    for (const rt of RUNTIMES) {
      const lines = r[rt].stdout.trim().split('\n');
      expect(lines[0], rt).toMatch(new RegExp(`^${rt} version \\S+$`));
      expect(lines.filter((l) => /^spec: \d+\.\d+\.\d+/.test(l)), rt).toHaveLength(1);
      expect(lines.filter((l) => /^commit: \S+$/.test(l)).length, rt).toBeLessThanOrEqual(1);
    }
  });

  it('--debug writes debug lines to stderr, or to --log in json', () => {
    const plain = d!.run('tsrun', ['--debug', 'list']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^tsrun: debug: list/m);
    const log = join(d!.scratch.dir, 'debug.log');
    const r = d!.run('tsrun', ['--debug', '--log', log, '--log-format', 'json', 'list']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
    expect(lines[0]).toMatchObject({ level: 'debug', msg: expect.stringMatching(/^list/) });
    expect(Date.parse(lines[0]!.time)).not.toBeNaN();
  });
});
