// Runs once around the whole suite. Before: the compiled CLI and the example
// rootfs must exist (`npm test` builds both). After: the suite-wide leak check.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
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
    if (cmd.includes(REPO) && /init-main\.js/.test(cmd) && !isZombie(pid)) found.push(`container init still running: pid ${pid} (${cmd.trim()})`);
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

export default function setup(): () => void {
  for (const f of ['dist/cli/main.js', 'dist/tsrun.js', 'bundles/busybox/rootfs/bin/busybox']) {
    if (!existsSync(resolve(REPO, f))) throw new Error(`${f} is missing: run "npm test" (it builds), or scripts/setup.sh`);
  }
  const devNull = hostDevNull();
  const chains = snapshotSharedChains();
  return () => {
    const found = [...leaks(devNull), ...removeNewSharedChains(chains).map((r) => `CNI rule left: ${r}`)];
    if (found.length) throw new Error(`the suite left things behind:\n  ${found.join('\n  ')}`);
    process.stdout.write('leak check: no container inits, test mounts or /dev/null changes left\n');
  };
}
