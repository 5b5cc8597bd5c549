import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, isRoot, tsrun } from '../helpers/bundle.js';
import { killLeftovers, leaks } from '../helpers/leak-check.js';

// Issue 16: the exact default configs of `runc spec`, `crun spec` and
// `tsrun spec` (only args and terminal changed), run under runc and under
// tsrun; what the container sees must be the same, apart from the differences
// the README lists ("How tsrun differs from runc"). Ids start with dspec-.

const has = (cmd: string): boolean => spawnSync(cmd, ['--version']).status === 0;
const scratch = isRoot && has('runc') ? new Scratch('dspec') : undefined;
const root = scratch?.root ?? '';
const runcRoot = scratch ? join(scratch.dir, 'runc-root') : '';
const ids: string[] = [];

afterAll(() => {
  if (!scratch) return;
  for (const i of ids) {
    tsrun(root, ['delete', '--force', i]);
    spawnSync('runc', ['--root', runcRoot, 'delete', '--force', i]);
  }
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  scratch.remove();
  expect(left).toEqual([]);
});

/** What the container sees, one section per line group. */
const PROBE = [
  "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
  'echo "--- mounts"; awk \'{ split($0, a, " - "); split(a[2], b, " "); print $5, b[1], $6 }\' /proc/self/mountinfo',
  'echo "--- dev"; ls -A /dev | tr "\\n" " "; echo',
  'echo "--- limits"; tail -n +2 /proc/self/limits',
  'echo "--- names"; hostname; id -u; id -g; id -G',
  'echo "--- fds"; ls /proc/self/fd | tr "\\n" " "; echo',
].join('\n');

/** A bundle with `tool spec`'s config.json, args and terminal changed, and a copy of the busybox rootfs (runc refuses a symlink). */
function specBundle(tool: string): string {
  const dir = join(scratch!.dir, `${tool}-bundle`);
  mkdirSync(dir);
  const cmd = tool === 'tsrun' ? [process.execPath, [CLI, 'spec']] as const : [tool, ['spec']] as const;
  const r = spawnSync(cmd[0], [...cmd[1]], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { root: { path: string }; process: { args: string[]; terminal: boolean } };
  cfg.process.args = ['sh', '-c', PROBE];
  cfg.process.terminal = false;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, '\t'));
  cpSync(ROOTFS, join(dir, cfg.root.path), { recursive: true, verbatimSymlinks: true });
  return dir;
}

/**
 * The differences the README lists, made equal: tsrun also mounts the hybrid
 * host's cgroup2 hierarchy, keeps the cgroup tmpfs read-only like the mount
 * asks, and adds nosuid,nodev,noexec to readonlyPaths.
 */
function normalize(out: string): string {
  return out
    .split('\n')
    .filter((l) => !/^\/sys\/fs\/cgroup\/unified cgroup2 /.test(l))
    .map((l) => l.replace(/^(\/sys\/fs\/cgroup tmpfs )r[ow],/, '$1r?,'))
    .map((l) => l.replace(/^(\/proc\/(bus|fs|irq|sys) proc ro)(,nosuid,nodev,noexec)?,relatime$/, '$1,relatime'))
    .join('\n');
}

describe.skipIf(!scratch)('default configs of runc, crun and tsrun: the same container under runc and tsrun', () => {
  for (const tool of ['runc', 'crun', 'tsrun']) {
    it.skipIf(tool === 'crun' && !has('crun'))(`\`${tool} spec\` unchanged but for args and terminal`, () => {
      const bundle = specBundle(tool);
      const id = `dspec-${tool}`;
      ids.push(id);
      const byRunc = spawnSync('runc', ['--root', runcRoot, 'run', '-b', bundle, id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(byRunc.status, byRunc.stderr).toBe(0);
      const byTsrun = tsrun(root, ['run', '-b', bundle, id]);
      expect(byTsrun.code, byTsrun.stderr).toBe(0);
      expect(byTsrun.stdout).toContain('--- fds');
      expect(normalize(byTsrun.stdout)).toBe(normalize(byRunc.stdout));
    });
  }
});
