import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scratch, isRoot, tsrun, ROOTFS, type Config } from '../helpers/bundle.js';
import { startRenameRacer } from '../helpers/rename-racer.js';
import { killLeftovers, leaks, mountsUnder, nodeIdentity } from '../helpers/leak-check.js';

// A hostile rootfs (issue 15): mount destinations, masked paths and /etc are
// symlinks that point out of the rootfs (to a host temp dir and to "/"), and a
// racing process swaps a directory on the path of many mount points for a
// symlink to the host dir while `create` runs in a loop. Nothing outside the
// rootfs may be created, mounted over or changed. Ids start with rfatk-.

const scratch = isRoot ? new Scratch('rfatk') : undefined;
const root = scratch?.root ?? '';
const hostNull = isRoot ? nodeIdentity('/dev/null') : '';
let n = 0;
const id = (): string => `rfatk-${++n}`;
let swapper: ChildProcess | undefined;

/** Every entry under `dir` with its type, mode, owner, size and mtime: what "changed" is measured against. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.rdev}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

afterAll(() => {
  if (!scratch) return;
  if (swapper?.pid) process.kill(swapper.pid, 'SIGKILL');
  for (let i = 1; i <= n; i++) tsrun(root, ['delete', '--force', `rfatk-${i}`]);
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  expect(nodeIdentity('/dev/null')).toBe(hostNull);
  scratch.remove();
  expect(left).toEqual([]);
});

/** A private copy of the busybox rootfs. */
function rootfsCopy(name: string): string {
  const dest = join(scratch!.dir, name);
  const r = spawnSync('cp', ['-a', ROOTFS, dest]);
  if (r.status !== 0) throw new Error(`cp -a: ${r.stderr}`);
  return dest;
}

/** A host dir the rootfs's symlinks point at, with something in it to change. */
function outsideDir(name: string): string {
  const d = scratch!.mkdir(name);
  writeFileSync(join(d, 'sentinel'), 'host file\n');
  mkdirSync(join(d, 'sub'));
  return d;
}

describe.skipIf(!isRoot)('a hostile rootfs cannot reach the host', () => {
  it('static symlinks: mount destinations, masked paths and /etc pointing at a host dir and at "/"', () => {
    const outside = outsideDir('outside-static');
    const before = snapshot(outside);
    const hostRoot = readdirSync('/').sort();
    const rootfs = rootfsCopy('rootfs-static');
    spawnSync('rm', ['-rf', join(rootfs, 'etc')]);
    symlinkSync(outside, join(rootfs, 'etc'));
    symlinkSync(outside, join(rootfs, 'data'));
    symlinkSync('/', join(rootfs, 'up'));
    symlinkSync('../../..', join(rootfs, 'dots'));
    symlinkSync(join(outside, 'sentinel'), join(rootfs, 'masked-file'));
    symlinkSync(outside, join(rootfs, 'masked-dir'));
    const source = scratch!.mkdir('bind-source');
    const bundle = (masked: string[]) =>
      scratch!.bundle(['true'], (c: Config) => {
        c.root = { path: rootfs, readonly: false };
        c.mounts.push(
          { destination: '/etc/rfatk-tmp', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/etc/sentinel', type: 'bind', source, options: ['bind'] },
          { destination: '/data/sub/deeper', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/up/rfatk-made-at-host-root', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/dots/rfatk-dots', type: 'tmpfs', source: 'tmpfs' },
        );
        c.linux.devices = [{ path: '/data/rfatk-dev', type: 'c', major: 1, minor: 3 }];
        c.linux.maskedPaths = masked;
        c.linux.readonlyPaths = ['/data', '/up/tmp'];
      });
    // Every symlink is followed as if the rootfs were "/": what is made, is made inside it.
    const ok = tsrun(root, ['run', '-b', bundle(['/etc/sentinel', '/data/sub']), id()]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    for (const made of [join(outside, 'rfatk-tmp'), join(outside, 'sub/deeper'), 'rfatk-made-at-host-root', 'rfatk-dots']) {
      expect(existsSync(join(rootfs, made)), made).toBe(true);
    }
    // A masked path that is itself a symlink is refused, not followed.
    for (const masked of ['/masked-file', '/masked-dir']) {
      const r = tsrun(root, ['run', '-b', bundle([masked]), id()]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`linux.maskedPaths: ${masked}: is a symlink in the container: not followed`);
    }
    expect(snapshot(outside)).toEqual(before);
    expect(readdirSync('/').sort()).toEqual(hostRoot);
    expect(mountsUnder(outside)).toEqual([]);
  });

  it('a directory swapped for a symlink to the host while create runs: nothing outside changes', async () => {
    const outside = outsideDir('outside-race');
    const before = snapshot(outside);
    const rootfs = rootfsCopy('rootfs-race');
    mkdirSync(join(rootfs, 'race/a'), { recursive: true });
    symlinkSync(outside, join(rootfs, 'race/b'));
    const bundle = scratch!.bundle(['true'], (c: Config) => {
      c.root = { path: rootfs, readonly: false };
      c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/dev');
      for (let i = 0; i < 12; i++) c.mounts.push({ destination: `/race/a/t${i}/x`, type: 'tmpfs', source: 'tmpfs' });
      c.linux.devices = [0, 1, 2, 3].map((i) => ({ path: `/race/a/dev${i}`, type: 'c', major: 1, minor: 3 }));
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
    });
    // The racer: swaps race/a (a dir) and race/b (a symlink to the host dir) with renameat2(RENAME_EXCHANGE), non-stop.
    swapper = await startRenameRacer(scratch!.dir, join(rootfs, 'race/a'), join(rootfs, 'race/b'));
    let created = 0;
    let breached = '';
    const errors = new Set<string>();
    for (let i = 0; i < 30 && !breached; i++) {
      const cid = id();
      const r = tsrun(root, ['create', '-b', bundle, cid]);
      if (r.code === 0) created++;
      else errors.add(r.stderr.trim().replace(/rfatk-\d+/g, 'ID').replace(/\d+/g, 'N'));
      tsrun(root, ['delete', '--force', cid]);
      const now = snapshot(outside);
      if (now.join('\n') !== before.join('\n')) breached = `after create #${i + 1}: ${now.filter((e) => !before.includes(e)).join(', ')}`;
    }
    process.kill(swapper.pid!, 'SIGKILL');
    swapper = undefined;
    console.log(`rootfs-attack race: ${created} creates succeeded${breached ? `; breached ${breached}` : ''}; failures:\n${[...errors].join('\n')}`);
    expect(breached).toBe('');
    // A create the race defeats fails with a message, not a crash of the runtime or its init.
    for (const e of errors) expect(e).not.toMatch(/at .*\.js:\d+|closed the sync socket/);
    expect(mountsUnder(outside)).toEqual([]);
  });
});
