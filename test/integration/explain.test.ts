import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, Scratch } from '../helpers/bundle.js';
import type { ExplainEvent } from '../../src/explain/events.js';

// --explain comes from the real Syscalls layer: what it reports must be
// exactly what strace sees the runtime's main thread do (it sets the
// container up from inside its namespaces; the C stage only applies the plan).

const s = new Scratch('explain');
afterAll(() => s.remove());
const hasStrace = spawnSync('strace', ['-V']).status === 0;

// Besides the set-up calls: the file calls that change the cgroup tree or the
// state directory (and Node's own spellings of them, should one bypass the door).
const FILE_CALLS = 'openat,open,mkdir,mkdirat,rmdir,unlink,unlinkat,rename,renameat,renameat2,fchmodat,chmod';

function explainRun(extra: string[] = [], edit?: Parameters<Scratch['bundle']>[1]) {
  const bundle = s.bundle(['true'], edit);
  const traceFile = join(s.dir, `strace-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(
    'strace',
    ['-f', '-qq', '-s', '1024', '-o', traceFile, '-e', `trace=mount,pivot_root,unshare,sethostname,mknod,mknodat,mkdirat,symlinkat,openat2,mount_setattr,${FILE_CALLS}`, process.execPath, join(REPO, 'dist/cli/main.js'), '--root', s.root, '--explain=json', ...extra, 'run', bundle],
    { encoding: 'utf8' },
  );
  const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ExplainEvent);
  return { r, events, strace: readFileSync(traceFile, 'utf8').split('\n') };
}

describe.skipIf(!hasStrace)('--explain (strace is needed to compare; setup.sh installs it)', () => {
  it('reports the set-up\'s mounts, pivot_root, unshares, hostname, mknods, mkdirs, symlinks and in-root opens in the order strace sees them', () => {
    const { r, events, strace } = explainRun();
    expect(r.status).toBe(0);
    // The main thread's tid is the CLI's pid.
    const initPid = events.find((e) => e.actor === 'runtime')!.pid;
    const names = ['mount', 'pivot_root', 'unshare', 'sethostname', 'mknod', 'mknodat', 'mkdirat', 'symlinkat', 'openat2', 'mount_setattr'];
    const explained = events
      .filter((e) => e.actor === 'runtime' && e.kind === 'syscall')
      // glibc's mkfifo() is the mknodat syscall too
      .map((e) => /^(\w+)\(("[^"]*"|NULL)?/.exec(e.call.replace(/^mkfifo\(/, 'mknod('))!)
      .filter((m) => names.includes(m[1]!))
      .map((m) => `${m[1]} ${m[1] === 'mount' ? '' : (m[2] ?? '')}`.trim());
    const traced = strace
      .filter((l) => l.startsWith(`${initPid} `))
      // glibc's mknod() is the mknodat syscall
      .map((l) => l.replace('mknodat(AT_FDCWD, ', 'mknod('))
      .map((l) => /^\d+\s+(\w+)\(("[^"]*"|NULL)?/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && names.includes(m[1]!))
      .map((m) => `${m[1]} ${m[1] === 'mount' ? '' : (m[2] ?? '')}`.trim());
    expect(explained.length).toBeGreaterThan(20);
    expect(explained).toEqual(traced);
  });

  it('reports every change to the cgroup tree, the state directory and /proc files (mkdir, open for writing, rename, unlink, rmdir) in the order strace sees them', () => {
    const { r, events, strace } = explainRun([], (cfg) => {
      cfg.linux = { ...cfg.linux, resources: { ...cfg.linux?.resources, pids: { limit: 64 } } };
      cfg.process.oomScoreAdj = 0;
    });
    expect(r.status, r.stderr).toBe(0);
    const initPid = events.find((e) => e.actor === 'runtime')!.pid;
    const watched = (path: string): boolean => ['/sys/fs/cgroup/', '/proc/', `${s.root}/`].some((p) => path.startsWith(p));
    // One name per kind of change, whichever call (door or node:fs) made it; opens only when they may write.
    const kind = (name: string, rest: string): string | undefined => {
      if (/^open(at)?$/.test(name)) return /O_WRONLY|O_RDWR|O_CREAT/.test(rest) ? 'open-for-writing' : undefined;
      if (/^mkdir(at)?$/.test(name)) return 'mkdir';
      if (name === 'rmdir' || (name === 'unlinkat' && rest.includes('AT_REMOVEDIR'))) return 'rmdir';
      if (/^unlink(at)?$/.test(name)) return 'unlink';
      if (/^rename(at2?)?$/.test(name)) return 'rename';
      if (/^(fchmodat|chmod)$/.test(name)) return 'chmod';
      return undefined;
    };
    const changes = (lines: string[]): string[] =>
      lines.flatMap((l) => {
        const m = /^(\w+)\((?:AT_FDCWD, )?"([^"]*)"(.*)$/.exec(l);
        const k = m ? kind(m[1]!, m[3]!) : undefined;
        return m && k && watched(m[2]!) ? [`${k} ${m[2]}`] : [];
      });
    const explained = changes(events.filter((e) => e.actor === 'runtime' && e.kind === 'syscall').map((e) => e.call));
    const traced = changes(strace.filter((l) => l.startsWith(`${initPid} `)).map((l) => l.replace(/^\d+\s+/, '')));
    // the cgroup is made, limited, joined and removed; state.json is written and the directory removed
    expect(explained).toContainEqual(expect.stringMatching(/^mkdir \/sys\/fs\/cgroup\/.*\/tsrun\//));
    expect(explained).toContainEqual(expect.stringMatching(/^open-for-writing \/sys\/fs\/cgroup\/.*\/pids\.max$/));
    expect(explained).toContainEqual(expect.stringMatching(/^open-for-writing \/sys\/fs\/cgroup\/.*\/cgroup\.procs$/));
    expect(explained).toContainEqual(expect.stringMatching(/^rmdir \/sys\/fs\/cgroup\//));
    expect(explained).toContainEqual(expect.stringMatching(/^rename .*\/state\.json\.tmp-\d+$/));
    expect(explained).toContainEqual(expect.stringMatching(/^open-for-writing \/proc\/\d+\/oom_score_adj$/));
    expect(explained).toEqual(traced);
  });

  it('gives each set-up call and each step of the stage a reason tied to the config', () => {
    const { events } = explainRun();
    const setUp = events.filter((e) => e.actor === 'runtime' && e.kind === 'syscall' && /^(unshare|setns|mount|pivot_root|sethostname|mknod|umount2)\(/.test(e.call));
    expect(setUp.length).toBeGreaterThan(20);
    expect(setUp.every((e) => typeof e.why === 'string' && e.why.length > 0)).toBe(true);
    expect(setUp.some((e) => e.call.startsWith('unshare(CLONE_NEWNET)') && e.why?.startsWith('linux.namespaces['))).toBe(true);
    expect(setUp.some((e) => e.call.startsWith('mount("proc"') && e.why?.startsWith('mounts['))).toBe(true);
    const stage = events.filter((e) => e.kind === 'step' && e.call.startsWith('stage: '));
    expect(stage.every((e) => typeof e.why === 'string' && e.why.length > 0)).toBe(true);
    expect(stage.some((e) => e.call.startsWith('stage: capset(') && e.why === 'process.capabilities.{effective,permitted,inheritable}')).toBe(true);
    expect(stage.at(-1)!.call.startsWith('stage: execve("/bin/true"')).toBe(true);
  });
});

describe('--explain with a network', () => {
  it('shows the in-process CNI calls (netns handle, plugin ADD and DEL with env and result) in order, before the init execs', () => {
    const conf = join(s.dir, 'cni-conf');
    const cache = join(s.dir, 'cni-cache');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'expl.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'expl-net',
      plugins: [{ type: 'bridge', bridge: 'tsexpl0', isGateway: true, ipam: { type: 'host-local', subnet: '10.248.9.0/24', dataDir: join(s.dir, 'ipam') } }],
    }));
    try {
      const r = spawnSync(process.execPath, [join(REPO, 'dist/cli/main.js'), '--root', s.root, '--explain=json', 'run', '--net', 'expl-net', '--conf-dir', conf, '--cache-dir', cache, '-b', s.bundle(['true']), 'expl-n1'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ExplainEvent);
      const add = events.findIndex((e) => e.actor === 'runtime' && e.kind === 'cni' && e.call.startsWith('bridge ADD'));
      const del = events.findIndex((e) => e.actor === 'runtime' && e.kind === 'cni' && e.call.startsWith('bridge DEL'));
      const handle = events.findIndex((e) => e.actor === 'runtime' && e.call.startsWith('mount("/proc/') && e.call.includes('/run/netns/'));
      expect(handle).toBeGreaterThanOrEqual(0);
      expect(add).toBeGreaterThan(handle);
      expect(events[add]!.call).toContain('CNI_NETNS=/run/netns/');
      expect(events[add]!.result).toMatch(/^ok: .*10\.248\.9\.\d+\/24/);
      expect(del).toBeGreaterThan(add);
      // the plugin's own kernel requests, one readable line each, before its ADD line and with it as reason
      const veth = events.findIndex((e) => e.kind === 'net' && /^RTM_NEWLINK veth "veth\w+" peer "eth0" \[peer netns \/run\/netns\//.test(e.call));
      expect(veth).toBeGreaterThan(handle);
      expect(veth).toBeLessThan(add);
      expect(events[veth]!.result).toMatch(/^ok: index \d+ "veth\w+"$/);
      expect(events[veth]!.why).toBe('network "expl-net": plugin type "bridge" ADD');
      expect(events.some((e) => e.kind === 'net' && /^RTM_NEWADDR 10\.248\.9\.\d+\/24 dev \d+ \[netns \/run\/netns\//.test(e.call))).toBe(true);
      expect(events.some((e) => e.kind === 'net' && e.call.startsWith('RTM_DELLINK') && e.why === 'network "expl-net": plugin type "bridge" DEL')).toBe(true);
      // no raw netlink bytes: the plugins' socket calls are not traced one by one
      expect(events.some((e) => e.kind === 'syscall' && e.call.startsWith('sendto('))).toBe(false);
      const initExec = events.findIndex((e) => e.kind === 'step' && e.call.startsWith('stage: execve('));
      expect(add).toBeLessThan(initExec);
    } finally {
      spawnSync('ip', ['link', 'del', 'tsexpl0']);
    }
  });
});
