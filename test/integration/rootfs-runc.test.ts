import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scratch, isRoot, tsrun, ROOTFS, type Config } from '../helpers/bundle.js';
import { killLeftovers, leaks, mountsUnder, nodeIdentity } from '../helpers/leak-check.js';

// Issue 12's mount items, side by side with Debian's runc on the same bundle:
// a read-only /dev, rootfsPropagation, --no-pivot hiding the host's /proc,
// rro and a recursive read-only rbind. Ids start with rfrunc-; runc gets a
// state root of its own in this file's scratch dir.

const RUNC = '/usr/sbin/runc';
const hasRunc = isRoot && existsSync(RUNC);
const scratch = hasRunc ? new Scratch('rfrunc') : undefined;
const root = scratch?.root ?? '';
const runcRoot = scratch ? join(scratch.dir, 'runc-state') : '';
const hostNull = hasRunc ? nodeIdentity('/dev/null') : '';
let n = 0;
const ids: string[] = [];

interface Out {
  code: number | null;
  out: string;
}

function runTsrun(bundle: string, flags: string[] = []): Out {
  const id = `rfrunc-${++n}`;
  ids.push(id);
  const r = tsrun(root, ['run', ...flags, '-b', bundle, id]);
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

function runRunc(bundle: string, flags: string[] = []): Out {
  const id = `rfrunc-${++n}`;
  ids.push(id);
  const r = spawnSync(RUNC, ['--root', runcRoot, 'run', ...flags, '-b', bundle, id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  return { code: r.status, out: (r.stdout + r.stderr).trim() };
}

/** Both runtimes on one bundle: `sh -c script` in the busybox config plus `edit`. */
function both(script: string, edit: (c: Config) => void = () => undefined, flags: string[] = []): { tsrun: Out; runc: Out } {
  const bundle = scratch!.bundle(['sh', '-c', script], edit);
  return { tsrun: runTsrun(bundle, flags), runc: runRunc(bundle, flags) };
}

afterAll(() => {
  if (!scratch) return;
  for (const id of ids) {
    tsrun(root, ['delete', '--force', id]);
    spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
  }
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  expect(nodeIdentity('/dev/null')).toBe(hostNull);
  scratch.remove();
  expect(left).toEqual([]);
});

describe.skipIf(!hasRunc)('mounts as runc makes them (same bundle, both runtimes)', () => {
  it('a read-only /dev: its devices are there and work, nothing new can be made in it', () => {
    const r = both('echo x > /dev/null && echo null-ok; ls /dev/zero; touch /dev/rfrunc 2>&1; grep " /dev " /proc/mounts', (c) => c.mounts[1].options.push('ro'));
    expect(r.tsrun.code).toBe(0);
    expect(r.tsrun.out).toContain('null-ok');
    expect(r.tsrun.out).toContain('touch: /dev/rfrunc: Read-only file system');
    expect(r.tsrun.out).toMatch(/^tmpfs \/dev tmpfs ro,/m);
    expect(r.tsrun).toEqual(r.runc);
  });

  it('rootfsPropagation slave, private: the same propagation as runc; shared, rshared, unbindable: given to the new root, as current runc does', () => {
    // mount point and the optional fields (shared:N, master:N, unbindable) of /, /proc, /dev, /sys
    const fields = (o: Out) =>
      o.out.split('\n').map((l) => {
        const f = l.split(' - ')[0]!.split(' ');
        return [f[4], ...f.slice(6).map((x) => x.replace(/:\d+$/, ''))].join(' ');
      });
    const script = 'grep -E "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ /(proc|dev|sys)? " /proc/self/mountinfo';
    for (const prop of ['slave', 'private']) {
      const r = both(script, (c) => (c.linux.rootfsPropagation = prop));
      expect(r.tsrun.code, prop).toBe(0);
      expect(fields(r.tsrun), prop).toEqual(fields(r.runc));
      expect(fields(r.tsrun), prop).toEqual(['/', '/proc', '/dev', '/sys']);
    }
    // runc 1.2.7+ (opencontainers/runc#4724), crun and youki apply these to "/" after pivot_root;
    // Debian's runc 1.1.5 predates that: "/" stays private and unbindable fails at the rootfs bind.
    const want: Record<string, string[]> = {
      shared: ['/ shared', '/proc', '/dev', '/sys'],
      rshared: ['/ shared', '/proc shared', '/dev shared', '/sys shared'],
      unbindable: ['/ unbindable', '/proc', '/dev', '/sys'],
    };
    for (const [prop, fieldsWanted] of Object.entries(want)) {
      const t = runTsrun(scratch!.bundle(['sh', '-c', script], (c) => (c.linux.rootfsPropagation = prop)));
      expect(t.code, `${prop}: ${t.out}`).toBe(0);
      expect(fields(t), prop).toEqual(fieldsWanted);
    }
  });

  it('rootfsPropagation rshared: a mount made in the container never reaches the host', () => {
    const caps = ['CAP_SYS_ADMIN'];
    // under a tmpfs of the config's own, so the shared rootfs's /mnt is never a mount point
    const script = 'mkdir /run/rfrunc/in && mount -t tmpfs rfrunc-shared /run/rfrunc/in && grep -c rfrunc-shared /proc/self/mountinfo || { ls -la / /run/rfrunc; cat /proc/self/mountinfo; }';
    const t = runTsrun(scratch!.bundle(['sh', '-c', script], (c) => {
      c.linux.rootfsPropagation = 'rshared';
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
      c.mounts.push({ destination: '/run/rfrunc', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] });
    }));
    expect(t.out).toBe('1');
    expect(mountsUnder(ROOTFS)).toEqual([]);
    expect(spawnSync('grep', ['-c', 'rfrunc-shared', '/proc/self/mountinfo'], { encoding: 'utf8' }).stdout.trim()).toBe('0');
  });

  it('--no-pivot leaves no procfs of the host in the container\'s mount namespace (a user namespace inside cannot mount proc)', () => {
    const caps = ['CAP_SYS_ADMIN', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETFCAP', 'CAP_SYS_CHROOT', 'CAP_KILL'];
    const tryProc = 'unshare -U -r -m -p -f sh -c "mount -t proc none /tmp && echo mounted-proc || echo refused" 2>&1';
    const edit = (masked: boolean) => (c: Config) => {
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
      c.process.noNewPrivileges = false;
      if (!masked) c.linux.maskedPaths = c.linux.readonlyPaths = [];
    };
    const noPivot = both(tryProc, edit(true), ['--no-pivot']);
    expect(noPivot.tsrun.out).toContain('refused');
    expect(noPivot.tsrun).toEqual(noPivot.runc);
    // The control: with nothing masked in its own /proc, the same mount works, so "refused" above means something.
    const open = both(tryProc, edit(false), ['--no-pivot']);
    expect(open.tsrun.out).toContain('mounted-proc');
    expect(open.tsrun).toEqual(open.runc);
  });

  it('rro makes a bind mount and the mounts under it read-only (as runc); rbind,ro does too (runc leaves the submount writable)', () => {
    const src = scratch!.mkdir('rro-src');
    const sub = join(src, 'sub');
    mkdirSync(sub);
    const m = spawnSync('mount', ['-t', 'tmpfs', 'rfrunc-sub', sub]);
    expect(m.status).toBe(0);
    try {
      const script = 'touch /mnt/top 2>&1; touch /mnt/sub/x 2>&1; grep " /mnt" /proc/mounts | cut -d" " -f1-4';
      const bind = (options: string[]) => (c: Config) => c.mounts.push({ destination: '/mnt', type: 'bind', source: src, options });
      const rro = both(script, bind(['rbind', 'rro']));
      expect(rro.tsrun.out).toContain('touch: /mnt/sub/x: Read-only file system');
      expect(rro.tsrun).toEqual(rro.runc);
      const ro = both(script, bind(['rbind', 'ro']));
      expect(ro.tsrun.out).toContain('touch: /mnt/top: Read-only file system');
      expect(ro.tsrun.out).toContain('touch: /mnt/sub/x: Read-only file system');
      expect(ro.tsrun.out).toMatch(/^rfrunc-sub \/mnt\/sub tmpfs ro,/m);
      expect(ro.runc.out).toMatch(/^rfrunc-sub \/mnt\/sub tmpfs rw,/m); // the difference, on purpose
    } finally {
      spawnSync('umount', [sub]);
    }
    expect(mountsUnder(src)).toEqual([]);
  });
});
