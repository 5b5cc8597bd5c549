// Makes the CLI entries executable after tsc and esbuild (neither keeps modes),
// and records what `tsrun --version` prints: the package version and, when this
// is a git checkout, the commit it was built from.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
for (const f of ['dist/tsrun.js', 'dist/cli/main.js']) if (existsSync(f)) chmodSync(f, 0o755);
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
let commit;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) commit += '-dirty';
} catch {
  // no git, or not a checkout: --version leaves the commit out
}
writeFileSync('dist/build-info.json', JSON.stringify(commit ? { version, commit } : { version }) + '\n');
