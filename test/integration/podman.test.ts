import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../helpers/bundle.js';
import { nodeIdentity } from '../helpers/leak-check.js';
import { IMAGE, PodmanEnv, cgroupsOf, havePodman, holdLock, iptablesDump, netnsNames, processesMentioning, removeParentCgroups } from '../helpers/podman.js';

// Podman 4.3 + conmon driving tsrun (issue 7's "Must show"). The control run is
// the same file with runc: TSRUN_PODMAN_RUNTIME=runc npx vitest run test/integration/podman.test.ts
// Names unique to this file: bridge tspod7 (runc: tspod7r), 10.247.7.0/24
// (runc: 10.247.8.0/24), host port 18780 (runc: 18781), tmux socket in the temp dir;
// concurrent runs of this file (other suites on the machine) wait on a flock in os.tmpdir().
// Only our bridge's addresses and 127.0.0.1 are ever contacted.

const runtime = process.env.TSRUN_PODMAN_RUNTIME === 'runc' ? 'runc' : 'tsrun';
const NET = runtime === 'tsrun' ? { name: 'tspod7', bridge: 'tspod7', prefix: '10.247.7' } : { name: 'tspod7r', bridge: 'tspod7r', prefix: '10.247.8' };
const HOST_PORT = runtime === 'tsrun' ? 18780 : 18781;
const missing = !isRoot ? 'needs root' : havePodman();

let pm: PodmanEnv;
let releaseLock: (() => Promise<void>) | undefined;
const ids = new Set<string>();
let before: { netns: string[]; devNull: string };

/** `podman run --rm ARGS` in our env. */
function run(args: string[], input?: string) {
  return pm.podman(['run', '--rm', ...args], { input });
}

function expectRun(args: string[], code: number, input?: string) {
  const r = run(args, input);
  expect(r.code, `podman run ${args.join(' ')}: ${r.stderr}`).toBe(code);
  return r;
}

/** Starts a detached container and remembers its id for the leak check. */
function detach(name: string, args: string[]): string {
  const id = pm.ok(['run', '-d', '--name', name, ...args]).trim();
  ids.add(id);
  return id;
}

const inspect = (name: string, format: string) => pm.ok(['inspect', '--format', format, name]).trim();

async function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Retries an async probe for a few seconds (httpd may not listen yet). */
async function retry<T>(f: () => Promise<T>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const hostPing = (ip: string) => spawnSync('busybox', ['ping', '-c1', '-W2', ip], { encoding: 'utf8' }).status === 0;

/** tmux with a server of our own, its socket in our temp dir (removed with it). */
const tmux = (args: string[], encoding?: 'utf8') => spawnSync('tmux', ['-S', join(pm.dir, 'tmux.sock'), ...args], { cwd: pm.dir, encoding });

/** Runs `podman ARGS` in a tmux pane (a real terminal), types `typed`, returns the pane's text once `until` shows. */
async function inTerminal(session: string, args: string[], typed: string, until: RegExp): Promise<string> {
  const cmd = `${pm.commandLine(args)}; echo podman-exit=$?; sleep 60`;
  expect(tmux(['new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd]).status).toBe(0);
  const pane = () => tmux(['capture-pane', '-p', '-t', session], 'utf8').stdout?.toString() ?? '';
  try {
    await waitFor('the container shell', () => /ready/.test(pane()), 30_000);
    tmux(['send-keys', '-t', session, typed, 'Enter']);
    return await waitFor(`${until} in the pane`, () => (until.test(pane()) ? pane() : false), 30_000);
  } finally {
    tmux(['kill-session', '-t', session]);
  }
}

describe.skipIf(missing !== undefined)(`podman with ${runtime} as its runtime${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    releaseLock = await holdLock(join(tmpdir(), 'tsrun-podman-test.lock'), 300);
    before = { netns: netnsNames(), devNull: nodeIdentity('/dev/null') };
    pm = new PodmanEnv('p7', runtime, NET);
    pm.importImage();
  }, 420_000);

  afterAll(async () => {
    try {
      cleanUp();
    } finally {
      await releaseLock?.();
    }
  }, 180_000);

  function cleanUp(): void {
    if (!pm) return;
    for (const id of pm.containerIds()) ids.add(id);
    tmux(['kill-server']);
    pm.remove();
    // conmon and container processes of our storage only (their command lines name our dir)
    for (const pid of processesMentioning(pm.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // the CNI bridge plugin never removes its bridge; it is ours (named for this file)
    spawnSync('ip', ['link', 'del', NET.bridge]);
    if (existsSync(`/sys/class/net/${NET.bridge}`)) throw new Error(`bridge ${NET.bridge} is still there`);
    // podman (cgroupfs) makes /libpod_parent/conmon and never removes it; busy ones stay
    const busy = removeParentCgroups();
    if (busy.length) console.warn(`podman's parent cgroups still in use (another podman running?): ${busy.join(', ')}`);
  }

  it('runs echo, returns exit code 42, passes -e, --workdir, --user, --hostname', () => {
    expect(expectRun([IMAGE, 'echo', 'hello from podman'], 0).stdout).toBe('hello from podman\n');
    expectRun([IMAGE, 'sh', '-c', 'exit 42'], 42);
    expect(expectRun(['-e', 'FOO=bar baz', IMAGE, 'sh', '-c', 'echo "$FOO"'], 0).stdout).toBe('bar baz\n');
    expect(expectRun(['--workdir', '/var/www', IMAGE, 'pwd'], 0).stdout).toBe('/var/www\n');
    expect(expectRun(['--user', '1000:1000', IMAGE, 'sh', '-c', 'id -u; id -g; touch /root/x 2>/dev/null || echo denied'], 0).stdout).toBe('1000\n1000\ndenied\n');
    expect(expectRun(['--hostname', 'tspod-host', IMAGE, 'hostname'], 0).stdout).toBe('tspod-host\n');
  });

  it('--read-only: / is read-only, podman\'s tmpfs (tmpcopyup) on /tmp, /run and a --tmpfs dir are writable and keep the image\'s files', () => {
    const script = 'touch /x 2>/dev/null && echo wrote-root; touch /tmp/t /run/r /var/www/new && echo tmpfs-ok; cat /var/www/index.html; grep -E " / | /var/www " /proc/mounts | cut -d" " -f2-4 | cut -d, -f1';
    const r = expectRun(['--read-only', '--tmpfs', '/var/www', IMAGE, 'sh', '-c', script], 0);
    expect(r.stdout).toBe('tmpfs-ok\n<h1>hello from tsrun</h1>\n/ ext4 ro\n/var/www tmpfs rw\n');
  });

  it('-i passes stdin', () => {
    expect(expectRun(['-i', IMAGE, 'sh', '-c', 'tr a-z A-Z'], 0, 'piped in\n').stdout).toBe('PIPED IN\n');
  });

  it('a missing binary exits 127, a non-executable one 126', () => {
    expect(expectRun([IMAGE, '/no/such/binary'], 127).stderr).toMatch(/no such file or directory/);
    expect(expectRun([IMAGE, '/etc/passwd'], 126).stderr).toMatch(/permission denied/);
  });

  it('detached run → ps → exec (output, exit code, env) → stop → rm', () => {
    const id = detach('p7-det', [IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
    expect(pm.ok(['ps', '--no-trunc', '--format', '{{.ID}} {{.Status}}'])).toMatch(new RegExp(`^${id} Up`, 'm'));
    expect(pm.ok(['exec', 'p7-det', 'sh', '-c', 'echo in-exec; hostname'])).toBe(`in-exec\n${id.slice(0, 12)}\n`);
    expect(pm.podman(['exec', 'p7-det', 'sh', '-c', 'exit 3']).code).toBe(3);
    expect(pm.ok(['exec', '-e', 'EXECVAR=v1', 'p7-det', 'sh', '-c', 'echo $EXECVAR'])).toBe('v1\n');
    pm.ok(['stop', '-t', '10', 'p7-det']);
    expect(inspect('p7-det', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 0');
    pm.ok(['rm', 'p7-det']);
    expect(pm.ok(['ps', '-a', '-q', '--no-trunc'])).not.toContain(id);
  });

  it('kill -s USR1 reaches a trap; kill -s KILL ends the container with 137', async () => {
    detach('p7-sig', [IMAGE, 'sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done']);
    await waitFor('the trap to be set', () => pm.ok(['logs', 'p7-sig']).includes('ready'));
    pm.ok(['kill', '-s', 'USR1', 'p7-sig']);
    await waitFor('got-usr1 in the logs', () => pm.ok(['logs', 'p7-sig']).includes('got-usr1'));
    expect(inspect('p7-sig', '{{.State.Status}}')).toBe('running');
    pm.ok(['kill', '-s', 'KILL', 'p7-sig']);
    await waitFor('the container to exit', () => inspect('p7-sig', '{{.State.Status}}') === 'exited');
    expect(inspect('p7-sig', '{{.State.ExitCode}}')).toBe('137');
    pm.ok(['rm', 'p7-sig']);
  });

  it('--pid host sees the host\'s processes', () => {
    const r = expectRun(['--pid', 'host', IMAGE, 'sh', '-c', `cat /proc/1/comm; test -d /proc/${process.pid} && echo sees-test-runner`], 0);
    expect(r.stdout).toBe(`${readFileSync('/proc/1/comm', 'utf8').trim()}\nsees-test-runner\n`);
  });

  it('pause freezes the container, unpause thaws it', async () => {
    detach('p7-pause', [IMAGE, 'sh', '-c', 'while :; do echo tick; sleep 0.05; done']);
    const ticks = () => pm.ok(['logs', 'p7-pause']).split('\n').filter((l) => l === 'tick').length;
    await waitFor('ticks', () => ticks() > 2);
    pm.ok(['pause', 'p7-pause']);
    expect(inspect('p7-pause', '{{.State.Status}}')).toBe('paused');
    const frozen = ticks();
    await new Promise((r) => setTimeout(r, 700));
    expect(ticks()).toBe(frozen);
    pm.ok(['unpause', 'p7-pause']);
    expect(inspect('p7-pause', '{{.State.Status}}')).toBe('running');
    await waitFor('ticks after unpause', () => ticks() > frozen + 2);
    pm.ok(['rm', '-f', '-t', '0', 'p7-pause']);
  });

  it(`podman's CNI network: host → container ping and HTTP, -p ${HOST_PORT}:80, container ↔ container`, async () => {
    detach('p7-web', ['-p', `${HOST_PORT}:80`, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/var/www']);
    const ip = inspect('p7-web', '{{.NetworkSettings.IPAddress}}');
    expect(ip.startsWith(`${NET.prefix}.`)).toBe(true);
    expect(readFileSync(`/sys/class/net/${NET.bridge}/bridge/bridge_id`, 'utf8')).toBeTruthy();
    expect(hostPing(ip)).toBe(true);
    const page = '<h1>hello from tsrun</h1>\n';
    expect(await retry(() => httpGet(ip, 80))).toContain(page.trim());
    expect(await httpGet('127.0.0.1', HOST_PORT)).toContain(page.trim());
    // another container on the same bridge: ping and HTTP (busybox wget segfaults statically linked: nc)
    const r = expectRun([IMAGE, 'sh', '-c', `ping -c1 -W2 ${ip} >/dev/null && echo ping-ok; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc ${ip} 80 | tail -1`], 0);
    expect(r.stdout).toBe(`ping-ok\n${page}`);
    pm.ok(['rm', '-f', '-t', '0', 'p7-web']);
  });

  it('--network none: only lo, and it is up', () => {
    const r = expectRun(['--network', 'none', IMAGE, 'sh', '-c', 'ls /sys/class/net; ip -o link show lo | grep -o "state [A-Z]*\\|,UP"; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok'], 0);
    expect(r.stdout).toMatch(/^lo\n,UP\n(state UNKNOWN\n)?lo-ok\n$/);
  });

  it('--memory 64m: the limit is visible and exceeding it is an OOM kill (137)', () => {
    expect(expectRun(['--memory', '64m', IMAGE, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], 0).stdout).toBe(`${64 * 1024 * 1024}\n`);
    expectRun(['--memory', '64m', IMAGE, 'sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'], 137);
  });

  it('--pids-limit 20: pids.max is 20 and fork fails past it', () => {
    const script = 'cat /sys/fs/cgroup/pids/pids.max; (for i in $(seq 1 30); do sleep 5 & done) 2>/tmp/err; grep -q "can.t fork" /tmp/err && echo fork-failed; cat /sys/fs/cgroup/pids/pids.current';
    const [max, failed, current] = expectRun(['--pids-limit', '20', IMAGE, 'sh', '-c', script], 0).stdout.trim().split('\n');
    expect([max, failed]).toEqual(['20', 'fork-failed']);
    expect(Number(current)).toBeLessThanOrEqual(20);
  });

  it('run -it through a real terminal (tmux): a tty of the pane\'s size, typed input, exit code', async () => {
    const text = await inTerminal('run', ['run', '--rm', '-it', IMAGE, 'sh', '-c', 'tty; stty size; echo ready; read line; echo "got:$line"; exit 7'], 'typed-line', /podman-exit=\d+/);
    expect(text).toMatch(/\/dev\/pts\/\d+/);
    expect(text).toMatch(/^30 100$/m);
    expect(text).toMatch(/^got:typed-line$/m);
    expect(text).toMatch(/podman-exit=7/);
  });

  it('exec -it into a running container through tmux', async () => {
    detach('p7-tty', [IMAGE, 'sleep', '300']);
    const text = await inTerminal('exec', ['exec', '-it', 'p7-tty', 'sh', '-c', 'tty; stty size; echo ready; read line; echo "got:$line"; exit 5'], 'exec-line', /podman-exit=\d+/);
    expect(text).toMatch(/\/dev\/pts\/\d+/);
    expect(text, text).toMatch(/^30 100$/m);
    expect(text).toMatch(/^got:exec-line$/m);
    expect(text).toMatch(/podman-exit=5/);
    // the exec's pty is its own: the container's /dev/console is not re-bound, and a second exec -it works
    expect(pm.ok(['exec', 'p7-tty', 'sh', '-c', 'grep -c " /dev/console " /proc/mounts || true'])).toBe('0\n');
    const again = await inTerminal('exec2', ['exec', '-it', 'p7-tty', 'sh', '-c', 'echo ready; read line; echo "again:$line"'], 'x', /podman-exit=\d+/);
    expect(again).toMatch(/^again:x$/m);
    expect(again).toMatch(/podman-exit=0/);
    pm.ok(['rm', '-f', '-t', '0', 'p7-tty']);
  });

  it('leaves nothing behind: containers, runtime state, cgroups, netns, CNI results, iptables rules, host /dev/null', () => {
    for (const id of pm.containerIds()) ids.add(id);
    pm.ok(['rm', '-a', '-f', '-t', '0']);
    expect(pm.containerIds()).toEqual([]);
    for (const id of ids) {
      expect(existsSync(`/run/${runtime}/${id}`), `runtime state of ${id}`).toBe(false);
      expect(cgroupsOf(id), `cgroups of ${id}`).toEqual([]);
      expect(existsSync(`/var/lib/cni/results/${NET.name}-${id}-eth0`), `CNI result of ${id}`).toBe(false);
    }
    expect(netnsNames().filter((n) => !before.netns.includes(n) && n.startsWith('netns-'))).toEqual([]);
    const rules = iptablesDump();
    expect(rules).not.toContain(`${NET.prefix}.`);
    expect(rules).not.toContain(`name: \\"${NET.name}\\"`);
    expect(processesMentioning(pm.dir)).toEqual([]);
    expect(nodeIdentity('/dev/null')).toBe(before.devNull);
    const devNull = statSync('/dev/null');
    expect([devNull.uid, devNull.gid, devNull.isCharacterDevice(), devNull.mode & 0o777]).toEqual([0, 0, true, 0o666]);
  });
});
