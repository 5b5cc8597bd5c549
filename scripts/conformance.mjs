#!/usr/bin/env node
// `npm run conformance`: builds the OCI runtime-tools validation suite (offline, cached
// in .tmp/conformance/) and runs its 58 programs against the built tsrun, one at a
// time, each under `unshare -m -i` with its own TMPDIR and a timeout. Prints
// `name: N passed, M failed, K skipped` per program and a total line, and exits
// non-zero when a point fails that scripts/conformance/accepted.json does not list
// (docs/conformance.md explains the list). Root only; run it under the host lock:
//   flock /tmp/tsrun-host.lock npm run conformance [-- --runtime runc] [-- PROGRAM…]
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judge, loadAccepted } from './conformance/accepted.mjs';
import { ensureBuilt, findTarball, listPrograms, runtimetestPrograms } from './conformance/build.mjs';
import { cgroupDirs, mountPoints, removeLeftContainers, removeScratch, removeSuiteCgroups, runGroup, takeRuntimeArgs } from './conformance/host.mjs';
import { countPoints, parseTap, scoreProgram } from './conformance/tap.mjs';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(projectRoot, '.tmp', 'conformance');
const acceptedFile = join(projectRoot, 'scripts', 'conformance', 'accepted.json');

const USAGE = `usage: npm run conformance -- [--build-only] [--runtime tsrun|runc|PATH] [--timeout SECONDS] [--budget SECONDS] [--verbose] [PROGRAM…]
  --build-only  build (or check) the suite and stop: needs no root and no host lock
  --runtime     the runtime under test (default: tsrun from dist/); runc is /usr/sbin/runc;
                PATH is any runc-compatible executable (given --root DIR first)
  --timeout     per program, in seconds (default 60; the slowest takes ~25); a program that runs longer fails
  --budget      for the whole run, in seconds (default 600, so CI stays bounded when a runtime hangs);
                programs not started in time fail as "not run"
  --verbose     print every failed point (accepted ones too) and the TAP of failing programs`;

function parseArgs(argv) {
  const o = { runtime: 'tsrun', timeout: 60, budget: 600, verbose: false, buildOnly: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--runtime') o.runtime = value();
    else if (a === '--timeout') {
      o.timeout = Number(value());
      if (!(o.timeout > 0)) fail(`--timeout: expected a positive number of seconds\n${USAGE}`);
    } else if (a === '--budget') {
      o.budget = Number(value());
      if (!(o.budget > 0)) fail(`--budget: expected a positive number of seconds\n${USAGE}`);
    } else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--build-only') o.buildOnly = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown flag ${a}\n${USAGE}`);
    else o.only.push(a);
  }
  return o;
}

function fail(msg) {
  console.error(`conformance: ${msg}`);
  process.exit(2);
}

/**
 * One executable for $RUNTIME: the runtime with a state root of its own. It logs each
 * call's arguments, so the runner knows which container ids (and cgroups) are its own.
 */
function writeWrapper(runtime, stateRoot, logFile) {
  const q = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
  let cmd;
  if (runtime === 'tsrun') {
    const cli = join(projectRoot, 'dist', 'tsrun.js');
    if (!existsSync(cli)) fail(`${cli} is missing: run \`npm run build\` first`);
    cmd = `${q(process.execPath)} ${q(cli)}`;
  } else {
    const bin = runtime === 'runc' ? '/usr/sbin/runc' : resolve(runtime);
    if (!existsSync(bin)) fail(`--runtime: ${bin} does not exist`);
    cmd = q(bin);
  }
  const file = join(cacheDir, `runtime-${process.pid}`);
  writeFileSync(
    file,
    `#!/bin/sh\n# ${runtime} for the validation suite, with its own state root.\necho "$*" >> ${q(logFile)}\nexec ${cmd} --root ${q(stateRoot)} "$@"\n`,
    { mode: 0o755 },
  );
  return file;
}

/** "/sys/fs/cgroup/cpu/testdir/x" … → "testdir/x, testdir" (the paths, not every hierarchy). */
function shortCgroups(dirs) {
  const paths = new Set(dirs.map((d) => d.split('/').slice(5).join('/')));
  return [...paths].join(', ');
}

function firstLine(s) {
  return (s ?? '').trim().split('\n')[0].slice(0, 300);
}

function detailOf(p) {
  if (!p.detail) return '';
  try {
    const v = JSON.parse(p.detail);
    return firstLine(v.error ? `${v.error}${v.stderr ? `: ${v.stderr}` : ''}` : p.detail);
  } catch {
    return firstLine(p.detail);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!opts.buildOnly && process.geteuid?.() !== 0) fail('the validation suite makes real containers: run it as root');

  const tarball = (() => {
    try {
      return findTarball(projectRoot);
    } catch (err) {
      return fail(err.message);
    }
  })();
  mkdirSync(cacheDir, { recursive: true });
  let suiteDir;
  try {
    suiteDir = ensureBuilt(tarball, cacheDir, (m) => console.error(`conformance: ${m}`));
  } catch (err) {
    fail(`building the suite failed: ${err.message}`);
  }
  const all = listPrograms(suiteDir);
  if (opts.buildOnly) {
    console.log(`conformance: ${all.length} programs built in ${suiteDir}`);
    return;
  }
  let list;
  try {
    list = loadAccepted(acceptedFile, all);
  } catch (err) {
    fail(err.message);
  }
  for (const p of opts.only) if (!all.includes(p)) fail(`no program named ${p} (programs: ${all.join(' ')})`);
  const programs = opts.only.length ? opts.only : all;
  const insiders = new Set(runtimetestPrograms(suiteDir));

  const stateRoot = mkdtempSync(join(tmpdir(), 'tsrun-conformance-state-'));
  const callLog = `${stateRoot}.calls`;
  const runtime = writeWrapper(opts.runtime, stateRoot, callLog);
  const cgroupBaseline = cgroupDirs();
  const mountBaseline = mountPoints();
  const total = { passed: 0, failed: 0, skipped: 0 };
  let passing = 0;
  const unexpected = [];
  const nowPassing = [];
  const leaks = [];
  console.log(`conformance: ${programs.length} programs against ${opts.runtime} (${runtime})`);

  try {
    const deadline = Date.now() + opts.budget * 1000;
    for (const name of programs) {
      if (Date.now() >= deadline) {
        console.log(`${name}: 0 passed, 1 failed, 0 skipped (not run: the run's ${opts.budget}s budget is spent)`);
        total.failed++;
        unexpected.push(`${name} not run`);
        continue;
      }
      const scratch = mkdtempSync(join(tmpdir(), `tsrun-conformance-${name}-`));
      // The bundles live here: a container's mapped root (user namespaces) must reach them.
      chmodSync(scratch, 0o755);
      const r = await runGroup('unshare', ['-m', '-i', `./validation/${name}/${name}.t`], {
        cwd: suiteDir,
        env: { ...process.env, RUNTIME: runtime, TMPDIR: scratch },
        timeoutMs: opts.timeout * 1000,
      });
      const ending = { code: r.code, signal: r.signal, timedOut: r.timedOut };
      const points = scoreProgram(parseTap(r.stdout), ending, { printsRuntimetest: insiders.has(name) });
      const c = countPoints(points);
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
      if (c.failed === 0) passing++;
      const verdict = judge(list, name, points);
      const secs = (r.ms / 1000).toFixed(1);
      const note = verdict.accepted.length ? ` (${verdict.accepted.length} accepted)` : '';
      console.log(`${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${note} [${secs}s]`);
      for (const p of verdict.unexpected) {
        console.log(`  FAIL ${p.n ?? '-'} ${p.description}${detailOf(p) ? `: ${detailOf(p)}` : ''}`);
        unexpected.push(`${name} ${p.n ?? ''} ${p.description}`.replace(/\s+/g, ' '));
      }
      if (opts.verbose) {
        for (const { point: p, entry } of verdict.accepted) console.log(`  accepted ${p.n ?? '-'} ${p.description} [${entry.class}]`);
        if (c.failed) console.log(r.stdout.replace(/^/gm, '    | ') + r.stderr.replace(/^/gm, '    ! '));
      }
      for (const e of verdict.nowPassing) nowPassing.push(`${e.program}${e.points ? ` points ${e.points.join(',')}` : e.description ? ` "${e.description}"` : ''}`);

      // Leave nothing behind: containers, cgroups, scratch dir.
      const left = await removeLeftContainers(runtime, stateRoot);
      const cg = await removeSuiteCgroups(cgroupBaseline, takeRuntimeArgs(callLog));
      if (left.removed.length) console.log(`  cleaned up after ${name}: containers ${left.removed.join(' ')}`);
      if (cg.removed.length) console.log(`  cleaned up after ${name}: ${cg.removed.length} cgroups (${shortCgroups(cg.removed)})`);
      for (const f of [...left.failed, ...cg.failed]) leaks.push(`${name}: ${f}`);
      for (const id of left.failed) rmSync(join(stateRoot, id.split(' ')[0]), { recursive: true, force: true });
      const scratchLeft = removeScratch(scratch);
      if (scratchLeft) leaks.push(`${name}: ${scratch} ${scratchLeft}`);
    }
  } finally {
    rmSync(runtime, { force: true });
    rmSync(callLog, { force: true });
    try {
      rmdirSync(stateRoot);
    } catch {
      // the runtime left something in its root; reported below
    }
  }
  for (const m of mountPoints()) if (!mountBaseline.has(m)) leaks.push(`mount left on the host: ${m}`);
  if (existsSync(stateRoot)) leaks.push(`state root not empty: ${stateRoot}`);

  for (const n of nowPassing) console.log(`accepted failure now passes (remove it from the list): ${n}`);
  for (const l of leaks) console.log(`left behind: ${l}`);
  if (unexpected.length) console.log(`conformance: ${unexpected.length} failures not in scripts/conformance/accepted.json`);
  console.log(
    `conformance: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped; ${passing}/${programs.length} programs passing`,
  );
  process.exitCode = unexpected.length || leaks.length ? 1 : 0;
}

await main();
