import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot, waitFor, type Result } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, status, type Runtime } from '../helpers/differential.js';

// runc's CLI contract, side by side with Debian's runc on the same bundle:
// exit codes and the error words callers match on (containerd's shim, CRI-O,
// podman, conmon), for missing, created, running, paused and stopped
// containers. Ids and cgroups start with clie-.

const d = isRoot && hasRunc ? new Differential('clie') : undefined;

afterAll(() => {
  if (d) expect(d.finish()).toEqual([]);
});

/** Both exit with `code`, and both say `words`. */
function sameFailure(r: Record<Runtime, Result>, code: number, ...words: string[]): void {
  for (const rt of RUNTIMES) {
    expect(r[rt].code, `${rt}: ${r[rt].stderr}`).toBe(code);
    for (const w of words) expect(r[rt].stderr, rt).toContain(w);
  }
}

function sameSuccess(r: Record<Runtime, Result>): void {
  for (const rt of RUNTIMES) expect(r[rt].code, `${rt}: ${r[rt].stderr}`).toBe(0);
}

function createBoth(name: string, args: string[]): void {
  for (const rt of RUNTIMES) {
    const r = d!.run(rt, ['create', '-b', d!.bundle(rt, name, args), d!.id(rt, name)]);
    expect(r.code, `${rt} create: ${r.stderr}`).toBe(0);
  }
}

describe.skipIf(!d)('error texts and exit codes, as runc', () => {
  it('a container that does not exist: "does not exist", 1 (exec: 255)', () => {
    for (const args of [['state'], ['kill'], ['kill', '{id}', '0'], ['delete'], ['start'], ['pause'], ['resume'], ['ps'], ['events', '--stats'], ['update', '--memory', '1m']]) {
      const full = args.includes('{id}') ? args : [...args, '{id}'];
      sameFailure(d!.both('nope', full), 1, 'does not exist');
    }
    sameFailure(d!.both('nope', ['exec', '{id}', 'true']), 255, 'does not exist');
    // delete --force of a missing container is not an error
    sameSuccess(d!.both('nope', ['delete', '--force', '{id}']));
  });

  it('a created container: kill 0, pause, resume and exec work; a second create says "already exists"', () => {
    createBoth('created', ['sleep', '1000']);
    sameFailure(d!.both('created', ['create', '-b', d!.bundle('tsrun', 'created', ['true']), '{id}']), 1, 'container with given ID already exists');
    sameSuccess(d!.both('created', ['kill', '{id}', '0']));
    sameSuccess(d!.both('created', ['pause', '{id}']));
    for (const rt of RUNTIMES) expect(status(d!, rt, d!.id(rt, 'created'))).toBe('paused');
    sameSuccess(d!.both('created', ['resume', '{id}']));
    for (const rt of RUNTIMES) expect(status(d!, rt, d!.id(rt, 'created'))).toBe('created');
    sameSuccess(d!.both('created', ['exec', '{id}', 'true']));
    // like runc, delete without --force removes a created container
    sameSuccess(d!.both('created', ['delete', '{id}']));
    sameFailure(d!.both('created', ['state', '{id}']), 1, 'does not exist');
  });

  it('running, paused, then stopped: the refusals callers parse', async () => {
    createBoth('life', ['sleep', '1000']);
    sameSuccess(d!.both('life', ['start', '{id}']));
    sameFailure(d!.both('life', ['start', '{id}']), 1, 'cannot start an already running container');
    sameFailure(d!.both('life', ['delete', '{id}']), 1, 'that is not stopped: running');
    sameFailure(d!.both('life', ['resume', '{id}']), 1, 'container not paused');
    sameSuccess(d!.both('life', ['kill', '{id}', '0']));

    sameSuccess(d!.both('life', ['pause', '{id}']));
    sameFailure(d!.both('life', ['pause', '{id}']), 1, 'container not running');
    sameFailure(d!.both('life', ['exec', '{id}', 'true']), 255, 'cannot exec in a paused container (use --ignore-paused to override)');
    sameFailure(d!.both('life', ['delete', '{id}']), 1, 'that is not stopped: paused');
    sameSuccess(d!.both('life', ['kill', '{id}', '0']));
    sameSuccess(d!.both('life', ['resume', '{id}']));

    sameSuccess(d!.both('life', ['kill', '{id}', 'KILL']));
    for (const rt of RUNTIMES) await waitFor(() => status(d!, rt, d!.id(rt, 'life')) === 'stopped', `${rt} container stopped`);
    // containerd's shim sends `kill --all ID 9` after every exit and accepts "container not running"
    sameFailure(d!.both('life', ['kill', '{id}', '9']), 1, 'container not running');
    sameFailure(d!.both('life', ['kill', '{id}', '0']), 1, 'container not running');
    sameSuccess(d!.both('life', ['kill', '--all', '{id}', '9']));
    sameFailure(d!.both('life', ['pause', '{id}']), 1, 'container not running');
    sameFailure(d!.both('life', ['resume', '{id}']), 1, 'container not paused');
    sameFailure(d!.both('life', ['exec', '{id}', 'true']), 255, 'cannot exec in a stopped container');
    sameFailure(d!.both('life', ['start', '{id}']), 1, 'cannot start a container that has stopped');
    sameFailure(d!.both('life', ['update', '--memory', '64m', '{id}']), 1, 'container not running');
    sameFailure(d!.both('life', ['events', '--stats', '{id}']), 1, 'is not running');
    // ps of a stopped container: the header of ps -ef and nothing else
    const ps = d!.both('life', ['ps', '{id}']);
    sameSuccess(ps);
    expect(ps.tsrun.stdout).toBe(ps.runc.stdout);
    expect(ps.tsrun.stdout.trim().split('\n')).toHaveLength(1);
    sameSuccess(d!.both('life', ['delete', '{id}']));
  });

  it('signals: names with and without SIG, any case, numbers; unknown ones refused', () => {
    createBoth('sig', ['sleep', '1000']);
    sameSuccess(d!.both('sig', ['start', '{id}']));
    // sleep is pid 1 of its namespace: signals it has no handler for are ignored, so it keeps running
    for (const sig of ['usr1', 'SIGUSR1', 'sigusr1', 'USR2', '10', '0']) sameSuccess(d!.both('sig', ['kill', '{id}', sig]));
    sameSuccess(d!.both('sig', ['kill', '-a', '{id}', 'SIGUSR1']));
    sameFailure(d!.both('sig', ['kill', '{id}', 'FOO']), 1, 'unknown signal', 'FOO');
    for (const rt of RUNTIMES) expect(status(d!, rt, d!.id(rt, 'sig'))).toBe('running');
    // default SIGTERM: ignored by a pid 1 without a handler, so both still run
    sameSuccess(d!.both('sig', ['kill', '{id}']));
    sameSuccess(d!.both('sig', ['delete', '--force', '{id}']));
  });

  it('create with a pid file path that exists: the file is replaced with the new pid', () => {
    for (const rt of RUNTIMES) {
      const pidFile = join(d!.scratch.dir, `${rt}-existing.pid`);
      writeFileSync(pidFile, '12345\n');
      const id = d!.id(rt, 'pidf');
      const r = d!.run(rt, ['create', '--pid-file', pidFile, '-b', d!.bundle(rt, 'pidf', ['sleep', '1000']), id]);
      expect(r.code, r.stderr).toBe(0);
      const state = JSON.parse(d!.run(rt, ['state', id]).stdout) as { pid: number };
      expect(Number(readFileSync(pidFile, 'utf8')), rt).toBe(state.pid);
      expect(d!.run(rt, ['delete', '--force', id]).code).toBe(0);
    }
  });
});
