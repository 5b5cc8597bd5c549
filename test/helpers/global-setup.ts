// Runs once around the whole suite. Before: the compiled CLI and the example
// rootfs must exist (`npm test` builds both). After: the suite-wide leak check.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { removeNewSharedChains, snapshotSharedChains } from './shared-chains.js';

const REPO = resolve(import.meta.dirname, '../..');

function hostDevNull(): string {
  const st = statSync('/dev/null');
  return `${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.rdev}`;
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function isZombie(pid: string): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** What the suite may not leave: inits of this checkout, mounts in test temp dirs, changes to /dev/null. */
function leaks(devNullBefore: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const cmd = cmdline(pid);
    if (cmd.includes(REPO) && /init-main\.js|\/dist\/(runtime\/process\/)?stage\b/.test(cmd) && !isZombie(pid)) found.push(`container init still running: pid ${pid} (${cmd.trim()})`);
  }
  const tmp = tmpdir();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4] ?? '';
    if (mp.startsWith(`${tmp}/tsrun-`)) found.push(`mount left at ${mp}`);
  }
  const after = hostDevNull();
  if (after !== devNullBefore) found.push(`host /dev/null changed: ${devNullBefore} → ${after}`);
  return found;
}

/** Mount points in this mount namespace, by path. */
function mountPoints(): Set<string> {
  return new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? ''));
}

/** The parent cgroups tsrun makes (`/tsrun` in each hierarchy) that exist now. */
function tsrunCgroupParents(): Set<string> {
  const out = new Set<string>();
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = `/sys/fs/cgroup/${h}/tsrun`;
    if (existsSync(dir)) out.add(dir);
  }
  return out;
}

/**
 * What the suite's containers share and no single test owns, like iproute2's
 * /run/netns bind mount and the /tsrun parent cgroups: removed when the suite
 * made them and nothing is left in them; otherwise reported.
 */
function removeSharedLeftovers(netnsMounted: boolean, parents: Set<string>): string[] {
  const problems: string[] = [];
  for (const dir of tsrunCgroupParents()) {
    if (parents.has(dir)) continue;
    try {
      rmdirSync(dir);
    } catch (err) {
      problems.push(`cgroup ${dir} left: ${(err as Error).message}`);
    }
  }
  if (!netnsMounted && mountPoints().has('/run/netns')) {
    const handles = readdirSync('/run/netns');
    if (handles.length) problems.push(`netns handles left in /run/netns: ${handles.join(', ')}`);
    else if (spawnSync('umount', ['/run/netns']).status !== 0) problems.push('could not unmount /run/netns');
  }
  return problems;
}

export default function setup(): () => void {
  for (const f of ['dist/cli/main.js', 'dist/tsrun.js', 'bundles/busybox/rootfs/bin/busybox']) {
    if (!existsSync(resolve(REPO, f))) throw new Error(`${f} is missing: run "npm test" (it builds), or scripts/setup.sh`);
  }
  const devNull = hostDevNull();
  const chains = snapshotSharedChains();
  const netnsMounted = mountPoints().has('/run/netns');
  const parents = tsrunCgroupParents();
  return () => {
    const found = [
      ...leaks(devNull),
      ...removeNewSharedChains(chains).map((r) => `CNI rule left: ${r}`),
      ...removeSharedLeftovers(netnsMounted, parents),
    ];
    if (found.length) throw new Error(`the suite left things behind:\n  ${found.join('\n  ')}`);
    process.stdout.write('leak check: no container inits, test mounts or /dev/null changes left\n');
  };
}
