import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, ROOTFS, Scratch, tsrun, type Config } from '../helpers/bundle.js';

// User namespaces: made by the single-threaded stage, id maps written by the
// runtime; and tsrun run by a user who is not root (rootless).

const s = new Scratch('userns');
afterAll(() => s.remove());
const stageBuilt = (() => {
  try {
    return statSync(join(REPO, 'dist/userns-stage')).isFile();
  } catch {
    return false;
  }
})();

const mapped = (args: string[], edit?: (c: Config) => void) =>
  s.bundle(args, (c: Config) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    edit?.(c);
  });

describe.skipIf(!stageBuilt)('user namespaces (needs dist/userns-stage, built with cc)', () => {
  it('the container is root inside, mapped to 200000 outside, with the configured capabilities', () => {
    const b = mapped(['sh', '-c', 'id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status; echo $$']);
    const r = tsrun(s.root, ['run', '-b', b, 'us-map']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('0');
    expect(lines[1]!.trim().split(/\s+/)).toEqual(['0', '200000', '65536']);
    expect(lines[2]).toMatch(/CapEff:\s+0000000020000420/);
    expect(lines[3]).toBe('1');
  });

  it('host devices are bound in (mknod is not allowed) and the host /dev/null keeps its owner and mode', () => {
    const before = statSync('/dev/null');
    const b = mapped(['sh', '-c', 'echo hi > /dev/null && ls -ln /dev/null && chmod 600 /dev/null; echo chmod=$?']);
    const r = tsrun(s.root, ['run', '-b', b, 'us-dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('chmod=1');
    const after = statSync('/dev/null');
    expect([after.uid, after.gid, after.mode, after.rdev]).toEqual([before.uid, before.gid, before.mode, before.rdev]);
  });

  it('exec joins the user namespace of a running container', () => {
    const b = mapped(['sleep', '30']);
    expect(tsrun(s.root, ['run', '-d', '-b', b, 'us-exec']).code).toBe(0);
    try {
      const r = tsrun(s.root, ['exec', 'us-exec', 'sh', '-c', 'cat /proc/self/uid_map; id -u']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/0\s+200000\s+65536\n0/);
    } finally {
      tsrun(s.root, ['delete', '--force', 'us-exec']);
    }
  });
});

// The repo must be readable by the rootless test user (a clone under /root is not).
const user = spawnSync('id', ['-u', 'tsrun-rootless'], { encoding: 'utf8' });
const uid = Number(user.stdout.trim());
const gid = Number(spawnSync('id', ['-g', 'tsrun-rootless'], { encoding: 'utf8' }).stdout.trim());
const readable = user.status === 0 && spawnSync('runuser', ['-u', 'tsrun-rootless', '--', 'test', '-r', join(REPO, 'dist/tsrun.js')]).status === 0 && spawnSync('runuser', ['-u', 'tsrun-rootless', '--', 'test', '-x', ROOTFS]).status === 0;

describe.skipIf(!stageBuilt || !readable)('rootless (needs the tsrun-rootless user from scripts/setup.sh and a repo it can read)', () => {
  const home = mkdtempSync(join(tmpdir(), 'tsrun-rootless-'));
  chmodSync(home, 0o755);
  chownSync(home, uid, gid);
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const asUser = (args: string[]) =>
    spawnSync('runuser', ['-u', 'tsrun-rootless', '--', 'env', `XDG_RUNTIME_DIR=${home}`, process.execPath, join(REPO, 'dist/tsrun.js'), ...args], { encoding: 'utf8', cwd: home });

  it('tsrun spec --rootless writes a config that a non-root user can run', () => {
    const spec = asUser(['spec', '--rootless', '-b', home]);
    expect(spec.status, spec.stderr).toBe(0);
    const cfgPath = join(home, 'config.json');
    const cfg = JSON.parse(spawnSync('cat', [cfgPath], { encoding: 'utf8' }).stdout) as Config;
    expect(cfg.linux.uidMappings).toEqual([{ containerID: 0, hostID: uid, size: 1 }]);
    cfg.root.path = ROOTFS;
    cfg.process.terminal = false;
    cfg.process.args = ['sh', '-c', 'id -u; cat /proc/self/uid_map'];
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const r = asUser(['run', '-b', home, 'rl-run']);
    expect(r.status, r.stderr).toBe(0);
    const [inside, map] = r.stdout.trim().split('\n');
    expect(inside).toBe('0');
    expect(map!.trim().split(/\s+/)).toEqual(['0', String(uid), '1']);
    // its state went to $XDG_RUNTIME_DIR/tsrun, and is gone after the run
    expect(asUser(['list', '-q']).stdout.trim()).toBe('');
  });
});
