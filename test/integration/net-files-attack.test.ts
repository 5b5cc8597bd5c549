import { spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, baseConfig, isRoot, tsrun } from '../helpers/bundle.js';
import { cleanup, ok, writeConf } from '../helpers/netns.js';
import { startRenameRacer } from '../helpers/rename-racer.js';

// The DNS files of the CNI hook against a hostile rootfs (issue 15): /etc, or
// /etc/resolv.conf and /etc/hosts, are symlinks to a host temp dir outside the
// rootfs, or /etc is swapped for one while the container lives. The targets
// made to mount over, the mounts and the teardown's removal must all stay in
// the rootfs: no host file outside it is created, mounted over or removed.
// Driven as runc's createRuntime + poststop hook, and in-process by `run --net`.
// Names unique to this file: ids nfatk-*, network nfatk, bridge tsnfatk0, 10.249.157.0/24.
const NET = 'nfatk';
const BR = 'tsnfatk0';
const hasRunc = ok('sh', ['-c', 'command -v runc']);
let s: Scratch;
const started = new Set<string>();
let swapper: ChildProcess | undefined;

const dirs = () => ({ conf: join(s.dir, 'conf'), cache: join(s.dir, 'cache'), ipam: join(s.dir, 'ipam'), runc: join(s.dir, 'runc') });
const netFlags = () => ['--conf-dir', dirs().conf, '--cache-dir', dirs().cache, '--cni-path', '/usr/lib/cni'];

/** `dir` itself and every entry in it, with type, mode, size, mtime and content: what "changed" is measured against. */
function snapshot(dir: string): string[] {
  const out: string[] = [`. ${statSync(dir).mtimeMs}`];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    out.push(`${name} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.isFile() ? readFileSync(p, 'utf8') : ''}`);
  }
  return out;
}

/** A host dir outside every rootfs with a resolv.conf and hosts of its own (empty ones: what teardown would take for its own). */
function hostDir(name: string): string {
  const d = s.mkdir(name);
  writeFileSync(join(d, 'resolv.conf'), '');
  writeFileSync(join(d, 'hosts'), '');
  writeFileSync(join(d, 'sentinel'), 'host file\n');
  return d;
}

/** A bundle with its own rootfs copy, which `edit` makes hostile (or: `edit` a rootfs path, shared). */
function bundle(args: string[], edit: ((rootfs: string) => void) | string, hooks = false): string {
  const dir = s.rawBundle(undefined);
  let rootfs = join(dir, 'rootfs');
  if (typeof edit === 'string') rootfs = edit;
  else {
    cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
    edit(rootfs);
  }
  const cfg = baseConfig();
  cfg.root = { path: rootfs, readonly: true };
  cfg.hostname = 'nfatk-host';
  cfg.process.args = args;
  if (hooks) {
    const hook = { path: process.execPath, args: ['node', CLI, 'hook', 'cni', '--network', NET, ...netFlags()], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], timeout: 60 };
    cfg.hooks = { createRuntime: [hook], poststop: [hook] };
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

const runc = (args: string[]) => spawnSync('runc', ['--root', dirs().runc, ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });

/** runc run -d (the detached container keeps runc's stdio: a file, not a pipe). */
function runcDetached(id: string, b: string): void {
  started.add(id);
  const errFile = join(s.dir, `${id}.err`);
  const r = spawnSync('sh', ['-c', `exec runc --root "$1" run -d -b "$2" "$3" >"$4" 2>&1 </dev/null`, 'sh', dirs().runc, b, id, errFile], { timeout: 60_000 });
  expect(r.status, readFileSync(errFile, 'utf8')).toBe(0);
}

/** The image's /etc swapped for a symlink to `host` (by its host path) while the container lives. */
function swapEtc(rootfs: string, host: string): void {
  renameSync(join(rootfs, 'etc'), join(rootfs, 'etc.moved'));
  symlinkSync(host, join(rootfs, 'etc'));
}

const withoutEtcFiles = (rootfs: string) => {
  for (const f of ['resolv.conf', 'hosts']) spawnSync('rm', ['-f', join(rootfs, 'etc', f)]);
};

const inC = (pid: number, cmd: string) => spawnSync('nsenter', ['-t', String(pid), '-m', '-u', '-n', '-p', '-r', '-w', 'sh', '-c', cmd], { encoding: 'utf8' });
const hostMounts = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));

beforeAll(() => {
  if (!isRoot) return;
  s = new Scratch('nfatk');
  writeConf(dirs().conf, 'nfatk.conflist', {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [{ type: 'bridge', bridge: BR, isGateway: true, ipam: { type: 'host-local', dataDir: dirs().ipam, subnet: '10.249.157.0/24' }, dns: { nameservers: ['10.249.157.53'] } }],
  });
});

afterAll(() => {
  if (!isRoot) return;
  if (swapper?.pid) process.kill(swapper.pid, 'SIGKILL');
  for (const id of started) {
    tsrun(s.root, ['delete', '--force', id]);
    if (hasRunc) runc(['delete', '--force', id]);
    if (existsSync(`/run/netns/${id}`)) ok('ip', ['netns', 'del', id]);
  }
  cleanup({ links: [BR] });
  s.remove();
});

describe.skipIf(!isRoot || !hasRunc)('tsrun hook cni under runc: the DNS files never leave the rootfs', () => {
  it('/etc a symlink to a host dir: the targets are made and mounted inside the rootfs, the host dir is untouched', () => {
    const host = hostDir('host-1');
    const before = snapshot(host);
    const b = bundle(['sleep', '600'], (r) => {
      spawnSync('rm', ['-rf', join(r, 'etc')]);
      symlinkSync(host, join(r, 'etc'));
    }, true);
    runcDetached('nfatk-1', b);
    const pid = Number(JSON.parse(runc(['state', 'nfatk-1']).stdout).pid);
    // The container sees its own resolv.conf at /etc/resolv.conf (its /etc leads to the same name in its root).
    expect(inC(pid, 'cat /etc/resolv.conf').stdout).toContain('nameserver 10.249.157.53');
    expect(snapshot(host)).toEqual(before);
    expect(hostMounts(host)).toEqual([]);
    const del = runc(['delete', '--force', 'nfatk-1']);
    expect(del.status, del.stderr).toBe(0);
    expect(snapshot(host)).toEqual(before);
    // What was made to mount over (inside the rootfs, under the link's target) went with the container.
    expect(existsSync(join(b, 'rootfs', host, 'resolv.conf'))).toBe(false);
  });

  it('/etc/resolv.conf and /etc/hosts symlinks to host files (absolute, and by ../..): resolved in the rootfs, the host files untouched', () => {
    const host = hostDir('host-2');
    const before = snapshot(host);
    const b = bundle(['sleep', '600'], (r) => {
      withoutEtcFiles(r);
      symlinkSync(join(host, 'resolv.conf'), join(r, 'etc', 'resolv.conf'));
      symlinkSync(`../../../../../../../../..${join(host, 'hosts')}`, join(r, 'etc', 'hosts'));
    }, true);
    runcDetached('nfatk-2', b);
    const pid = Number(JSON.parse(runc(['state', 'nfatk-2']).stdout).pid);
    expect(inC(pid, 'cat /etc/resolv.conf').stdout).toContain('nameserver 10.249.157.53');
    expect(inC(pid, 'cat /etc/hosts').stdout).toContain('nfatk-host');
    expect(snapshot(host)).toEqual(before);
    expect(runc(['delete', '--force', 'nfatk-2']).status).toBe(0);
    expect(snapshot(host)).toEqual(before);
  });

  it('/etc swapped for a symlink to a host dir while the container lives: teardown removes nothing outside the rootfs', () => {
    const host = hostDir('host-3');
    const before = snapshot(host);
    const b = bundle(['sleep', '600'], (r) => spawnSync('rm', ['-rf', join(r, 'etc')]), true);
    runcDetached('nfatk-3', b);
    // The hook made /etc, /etc/resolv.conf and /etc/hosts (empty) to mount over.
    expect(readdirSync(join(b, 'rootfs', 'etc')).sort()).toEqual(['hosts', 'resolv.conf']);
    swapEtc(join(b, 'rootfs'), host);
    const del = runc(['delete', '--force', 'nfatk-3']);
    expect(del.status, del.stderr).toBe(0);
    expect(snapshot(host)).toEqual(before);
    expect(existsSync(`/run/netns/nfatk-3`)).toBe(false);
  });
});

describe.skipIf(!isRoot)('run --net (in-process hook): the DNS files never leave the rootfs', () => {
  it('/etc swapped for a symlink to a host dir while the container lives: delete removes nothing outside the rootfs', () => {
    const host = hostDir('host-4');
    const before = snapshot(host);
    const b = bundle(['sleep', '600'], (r) => spawnSync('rm', ['-rf', join(r, 'etc')]));
    started.add('nfatk-4');
    const r = tsrun(s.root, ['run', '-d', '--net', NET, ...netFlags(), '-b', b, 'nfatk-4'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(b, 'rootfs', 'etc')).sort()).toEqual(['hosts', 'resolv.conf']);
    swapEtc(join(b, 'rootfs'), host);
    const del = tsrun(s.root, ['delete', '--force', 'nfatk-4']);
    expect(del.code, del.stderr).toBe(0);
    expect(snapshot(host)).toEqual(before);
    expect(existsSync(`/run/netns/nfatk-4`)).toBe(false);
  });

  it('/etc a symlink to a host dir: nothing is made there, and run sees its own resolv.conf', () => {
    const host = hostDir('host-5');
    const before = snapshot(host);
    const b = bundle(['cat', '/etc/resolv.conf'], (r) => {
      spawnSync('rm', ['-rf', join(r, 'etc')]);
      symlinkSync(host, join(r, 'etc'));
    });
    started.add('nfatk-5');
    const r = tsrun(s.root, ['run', '--net', NET, ...netFlags(), '-b', b, 'nfatk-5'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nameserver 10.249.157.53');
    expect(snapshot(host)).toEqual(before);
    expect(hostMounts(host)).toEqual([]);
  });
});

/**
 * /etc is a symlink to race/a, a directory a racer swaps non-stop with race/b,
 * a symlink to the host dir (renameat2 RENAME_EXCHANGE): a path checked and
 * then used by name lands in the host dir when the swap falls between. `once`
 * sets one container up and tears it down; the host dir must never change.
 */
async function race(name: string, once: (i: number) => string | undefined): Promise<void> {
  const host = hostDir(name);
  const before = snapshot(host);
  const rootfs = join(s.dir, `${name}-rootfs`);
  cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
  spawnSync('rm', ['-rf', join(rootfs, 'etc')]);
  mkdirSync(join(rootfs, 'race/a'), { recursive: true });
  symlinkSync(host, join(rootfs, 'race/b'));
  symlinkSync('/race/a', join(rootfs, 'etc'));
  swapper = await startRenameRacer(s.dir, join(rootfs, 'race/a'), join(rootfs, 'race/b'));
  let breached = '';
  let succeeded = 0;
  const errors = new Set<string>();
  try {
    for (let i = 0; i < 15 && !breached; i++) {
      const err = once(i);
      if (err === undefined) succeeded++;
      else errors.add(err.trim().replace(/nfatk-[\d-]+/g, 'ID').replace(/\d+/g, 'N'));
      const now = snapshot(host);
      if (now.join('\n') !== before.join('\n')) breached = `after run #${i + 1}: ${now.filter((e) => !before.includes(e)).join(', ')}`;
    }
  } finally {
    process.kill(swapper.pid!, 'SIGKILL');
    swapper = undefined;
  }
  console.log(`net-files-attack race ${name}: ${succeeded} of the runs succeeded${breached ? `; breached ${breached}` : ''}; failures:\n${[...errors].join('\n')}`);
  expect(breached).toBe('');
  // A run the race defeats fails with a message, not a crash.
  for (const e of errors) expect(e).not.toMatch(/at .*\.js:\d+/);
  expect(hostMounts(host)).toEqual([]);
}

describe.skipIf(!isRoot)('a racing process swaps /etc for a symlink to the host while the hook runs (bounded loop)', () => {
  it('run --net: the targets made and removed in the rootfs only', async () => {
    await race('host-6', (i) => {
      const b = bundle(['true'], join(s.dir, 'host-6-rootfs'));
      const id = `nfatk-6-${i}`;
      started.add(id);
      const r = tsrun(s.root, ['run', '--net', NET, ...netFlags(), '-b', b, id], { timeoutMs: 60_000 });
      tsrun(s.root, ['delete', '--force', id]);
      return r.code === 0 ? undefined : r.stderr;
    });
  });

  it.skipIf(!hasRunc)('the hook under runc: the targets made, mounted on and removed in the rootfs only', async () => {
    await race('host-7', (i) => {
      const b = bundle(['true'], join(s.dir, 'host-7-rootfs'), true);
      const id = `nfatk-7-${i}`;
      started.add(id);
      const r = runc(['run', '-b', b, id]);
      runc(['delete', '--force', id]);
      return r.status === 0 ? undefined : r.stderr;
    });
  });
});
