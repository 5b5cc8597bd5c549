// Builds the OCI runtime-tools validation suite from the source tarball the
// project keeps beside its clone (../shared/conformance/), offline, with Debian's
// Go. The build lives in a cache dir and is reused while the tarball is unchanged
// (its sha256 is stamped next to the build).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TARBALL_NAME = 'runtime-tools-260e151.tar.gz';

/** Where the source tarball is: $TSRUN_CONFORMANCE_TARBALL, else ../shared/conformance/ beside the clone. */
export function findTarball(projectRoot) {
  const file = process.env.TSRUN_CONFORMANCE_TARBALL || join(projectRoot, '..', 'shared', 'conformance', TARBALL_NAME);
  if (!existsSync(file)) {
    throw new Error(
      `the validation suite's source is missing: ${file}\n` +
        `  it is expected at ../shared/conformance/${TARBALL_NAME} beside the project's clone` +
        ' (or set TSRUN_CONFORMANCE_TARBALL to its path)',
    );
  }
  return file;
}

/** The programs of a built suite (validation/<name>/<name>.t), sorted. */
export function listPrograms(suiteDir) {
  return readdirSync(join(suiteDir, 'validation'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'util')
    .map((d) => d.name)
    .sort();
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function isBuilt(suiteDir) {
  if (!existsSync(join(suiteDir, 'runtimetest'))) return false;
  return listPrograms(suiteDir).every((n) => existsSync(join(suiteDir, 'validation', n, `${n}.t`)));
}

/**
 * Returns the directory of a built suite (cacheDir/runtime-tools), building it first
 * when the tarball changed or a binary is missing.
 * @param {string} tarball
 * @param {string} cacheDir
 * @param {(msg: string) => void} log
 */
export function ensureBuilt(tarball, cacheDir, log) {
  const suiteDir = join(cacheDir, 'runtime-tools');
  const stampFile = join(cacheDir, 'source.sha256');
  const sum = sha256(tarball);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === sum && existsSync(suiteDir) && isBuilt(suiteDir)) {
    return suiteDir;
  }
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('go is not installed: the validation suite is built with Debian\'s golang-go (bash scripts/setup.sh installs it)');
  }
  log(`building the validation suite from ${tarball} into ${suiteDir}`);
  mkdirSync(cacheDir, { recursive: true });
  // Built in a fresh dir and renamed at the end, so an interrupted build is never reused.
  const work = join(cacheDir, `build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    execFileSync('tar', ['xzf', tarball, '-C', work], { stdio: 'inherit' });
    const src = join(work, 'runtime-tools');
    const env = {
      ...process.env,
      GOFLAGS: '-mod=vendor',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      GOCACHE: join(cacheDir, 'gocache'),
      GOPATH: join(cacheDir, 'gopath'),
    };
    const go = (args) => execFileSync('go', args, { cwd: src, env, stdio: 'inherit' });
    // runtimetest runs inside the containers, so it must be static.
    go(['build', '-tags', 'netgo osusergo', '-ldflags', '-extldflags -static', '-o', 'runtimetest', './cmd/runtimetest']);
    for (const n of listPrograms(src)) go(['build', '-o', `validation/${n}/${n}.t`, `./validation/${n}`]);
    rmSync(suiteDir, { recursive: true, force: true });
    renameSync(src, suiteDir);
    writeFileSync(stampFile, `${sum}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return suiteDir;
}

/**
 * Programs whose whole TAP is runtimetest's, printed from inside the container
 * (they call RuntimeInsideValidate without a TAP of their own). Read from the
 * source, so a new suite version needs no list here; the *_fail ones expect
 * create to fail and print nothing when it does.
 */
export function runtimetestPrograms(suiteDir) {
  return listPrograms(suiteDir).filter((n) => {
    if (n.endsWith('_fail')) return false;
    const src = readFileSync(join(suiteDir, 'validation', n, `${n}.go`), 'utf8');
    return /RuntimeInsideValidate\(g, nil\b/.test(src);
  });
}
