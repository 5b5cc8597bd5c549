import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Scratch, isRoot, stateOf, tsrun, tsrunAsync, waitFor, ROOTFS } from '../helpers/bundle.js';
import { leakedProcesses } from '../helpers/leak-check.js';
import { expectNothingLeft, fails, finishFile } from '../helpers/outcome.js';

// Bad input through the CLI as root: each case exits non-zero with a clear
// message and leaves nothing behind (no state dir, no process, no mount).
// Ids start with rt-err-.

const scratch = isRoot ? new Scratch('rt-err') : undefined;
const root = scratch?.root ?? '';
const ids = new Set<string>();
const id = (name: string): string => {
  ids.add(`rt-err-${name}`);
  return `rt-err-${name}`;
};


const nothingLeft = (): void => expectNothingLeft(root, [scratch!.dir, ROOTFS], ids);

afterEach(() => {
  if (!scratch) return;
  for (const i of ids) if (existsSync(join(root, i))) tsrun(root, ['delete', '--force', i]);
  ids.clear();
});

afterAll(() => {
  if (scratch) finishFile({ root, scratch, ids, dirs: [scratch.dir, ROOTFS] });
});

describe.skipIf(!isRoot)('bad input leaves nothing behind', () => {
  it('a missing bundle dir', () => {
    const dir = join(scratch!.dir, 'no-such-bundle');
    fails(tsrun(root, ['create', '-b', dir, id('nobundle')]), dir, 'no such file or directory');
    nothingLeft();
  });

  it('a missing config.json', () => {
    const dir = scratch!.rawBundle(undefined);
    fails(tsrun(root, ['run', '-b', dir, id('noconfig')]), join(dir, 'config.json'), 'no such file or directory');
    nothingLeft();
  });

  it('a malformed config.json, with line and column', () => {
    const dir = scratch!.rawBundle('{\n  "ociVersion": "1.2.0",\n  "process": { "args": ["sh"] ,,\n}\n');
    fails(tsrun(root, ['create', '-b', dir, id('badjson')]), join(dir, 'config.json'), 'line 3', 'column');
    nothingLeft();
  });

  it('a config that fails validation names the JSON path', () => {
    const dir = scratch!.bundle(undefined, (c) => (c.process.args = []));
    fails(tsrun(root, ['create', '-b', dir, id('badargs')]), 'process.args');
    nothingLeft();
  });

  it('a missing root.path', () => {
    const dir = scratch!.bundle(undefined, (c) => (c.root.path = join(scratch!.dir, 'no-rootfs')));
    fails(tsrun(root, ['create', '-b', dir, id('norootfs')]), 'root.path', 'no-rootfs');
    nothingLeft();
  });

  it('a binary that does not exist: "no such file or directory", on create and on run', () => {
    const dir = scratch!.bundle(['rt-err-no-such-binary']);
    fails(tsrun(root, ['create', '-b', dir, id('nobin')]), 'rt-err-no-such-binary', 'no such file or directory');
    nothingLeft();
    fails(tsrun(root, ['run', '-b', scratch!.bundle(['/bin/rt-err-nope']), id('nobin2')]), '/bin/rt-err-nope', 'no such file or directory');
    nothingLeft();
  });

  it('a binary that is not executable: "permission denied"', () => {
    fails(tsrun(root, ['run', '-b', scratch!.bundle(['/etc/passwd']), id('noexec')]), '/etc/passwd', 'permission denied');
    nothingLeft();
  });

  it('a cwd that does not exist', () => {
    const dir = scratch!.bundle(['true'], (c) => (c.process.cwd = '/rt-err-no-dir'));
    fails(tsrun(root, ['run', '-b', dir, id('nocwd')]), '/rt-err-no-dir');
    nothingLeft();
  });

  it('a user namespace without id mappings: a clear error naming what is missing', () => {
    const dir = scratch!.bundle(['true'], (c) => c.linux.namespaces.push({ type: 'user' }));
    fails(tsrun(root, ['run', '-b', dir, id('userns')]), 'needs linux.uidMappings and linux.gidMappings');
    nothingLeft();
  });

  it('a time namespace: a clear "not supported" error', () => {
    const dir = scratch!.bundle(['true'], (c) => c.linux.namespaces.push({ type: 'time' }));
    fails(tsrun(root, ['run', '-b', dir, id('timens')]), 'time namespaces are not supported');
    nothingLeft();
  });

  it('a duplicate id is refused and the first container is untouched', () => {
    const c = id('dup');
    const first = tsrun(root, ['create', '-b', scratch!.bundle(['true']), c]);
    expect(first.code, first.stderr).toBe(0);
    const before = stateOf(root, c)!;
    fails(tsrun(root, ['create', '-b', scratch!.bundle(['true']), c]), `container with given ID already exists: "${c}"`);
    fails(tsrun(root, ['run', '-b', scratch!.bundle(['true']), c]), `container with given ID already exists: "${c}"`);
    expect(stateOf(root, c)).toEqual(before);
    expect(before.status).toBe('created');
    expect(tsrun(root, ['delete', c]).code).toBe(0);
    nothingLeft();
  });

  it('start of a container that is running, or stopped, fails', async () => {
    const c = id('start2');
    expect(tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sleep', '30']), c]).code).toBe(0);
    fails(tsrun(root, ['start', c]), 'cannot start an already running container');
    expect(tsrun(root, ['kill', c, 'KILL']).code).toBe(0);
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'stopped');
    fails(tsrun(root, ['start', c]), 'cannot start a container that has stopped');
    expect(tsrun(root, ['delete', c]).code).toBe(0);
    nothingLeft();
  });

  it('delete of a running container without --force fails and leaves it running', () => {
    const c = id('delrun');
    expect(tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sleep', '30']), c]).code).toBe(0);
    fails(tsrun(root, ['delete', c]), c, 'running', '--force');
    expect(stateOf(root, c)?.status).toBe('running');
    expect(tsrun(root, ['delete', '--force', c]).code).toBe(0);
    nothingLeft();
  });

  it('kill, start, state and delete of an unknown id fail', () => {
    for (const cmd of [['kill', 'rt-err-unknown', 'TERM'], ['start', 'rt-err-unknown'], ['state', 'rt-err-unknown'], ['delete', 'rt-err-unknown']]) {
      fails(tsrun(root, cmd), '"rt-err-unknown" does not exist');
    }
    nothingLeft();
  });

  it('an invalid signal is refused and the container keeps running', () => {
    const c = id('badsig');
    expect(tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sleep', '30']), c]).code).toBe(0);
    for (const sig of ['SIGBOGUS', 'BOGUS', '65', '9x']) fails(tsrun(root, ['kill', c, sig]), 'unknown signal');
    expect(stateOf(root, c)?.status).toBe('running');
    expect(tsrun(root, ['delete', '--force', c]).code).toBe(0);
    nothingLeft();
  });

  it('ids with "/" or ".." are refused by every command', () => {
    const bundle = scratch!.bundle(['true']);
    for (const bad of ['a/b', '..', '../rt-err-x', '.']) {
      fails(tsrun(root, ['create', '-b', bundle, bad]), 'invalid container id');
    }
    fails(tsrun(root, ['run', '-b', bundle, '../rt-err-x']), 'invalid container id');
    for (const cmd of [['start', 'a/b'], ['state', '..'], ['kill', '../rt-err-x', 'KILL'], ['delete', '--force', '..']]) {
      fails(tsrun(root, cmd), 'invalid container id');
    }
    expect(existsSync(join(scratch!.dir, 'rt-err-x'))).toBe(false);
    nothingLeft();
  });

  it('a failing createRuntime hook: the error names the hook, the pid file is removed', () => {
    const pidFile = join(scratch!.dir, 'hookfail.pid');
    const dir = scratch!.bundle(['true'], (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo rt-err-hook-said-no >&2; exit 1'] }] };
    });
    fails(tsrun(root, ['create', '-b', dir, '--pid-file', pidFile, id('hookfail')]), 'createRuntime hook #0', '/bin/sh', 'exit status 1', 'rt-err-hook-said-no');
    expect(existsSync(pidFile)).toBe(false);
    nothingLeft();
  });

  it('a createRuntime hook that runs past its timeout is killed and the create undone', () => {
    const dir = scratch!.bundle(['true'], (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] };
    });
    const t0 = Date.now();
    fails(tsrun(root, ['run', '-b', dir, id('hooktimeout')]), 'createRuntime hook #0', 'timeout');
    expect(Date.now() - t0).toBeLessThan(10_000);
    nothingLeft();
  });

  it('a create killed with SIGKILL mid-way (in a createRuntime hook) is removed by delete --force', async () => {
    const c = id('killed');
    const hookPid = join(scratch!.dir, 'hook.pid');
    const dir = scratch!.bundle(['true'], (cfg) => {
      cfg.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${hookPid}; exec sleep 20`] }] };
    });
    const create = tsrunAsync(root, ['create', '-b', dir, c]);
    let hookGone = false;
    try {
      await waitFor(() => existsSync(hookPid) && readFileSync(hookPid, 'utf8').endsWith('\n'), 'the hook to start');
      const init = stateOf(root, c)?.pid;
      expect(init).toBeGreaterThan(0);
      create.child.kill('SIGKILL');
      await create.done;
      // The hook dies with the runtime (a parent-death signal set through setpriv).
      const hook = Number(readFileSync(hookPid, 'utf8'));
      await waitFor(() => !existsSync(`/proc/${hook}`) || readFileSync(`/proc/${hook}/stat`, 'utf8').includes(') Z'), 'the hook to die with the runtime');
      hookGone = true;
      const st = stateOf(root, c);
      expect(st?.status).toBe('stopped');
      const del = tsrun(root, ['delete', '--force', c]);
      expect(del.code, del.stderr).toBe(0);
      expect(existsSync(join(root, c))).toBe(false);
    } finally {
      // the hook itself is ours (the runtime no longer exists to kill it); once seen gone its pid may be another process's
      try {
        if (!hookGone) process.kill(Number(readFileSync(hookPid, 'utf8')), 'SIGKILL');
      } catch {
        // never started or gone
      }
    }
    await waitFor(() => leakedProcesses().length === 0, 'no init or container process left');
    nothingLeft();
  });
});

describe.skipIf(!isRoot)('control: the same bundles without the fault', () => {
  it('run fine', () => {
    const r = tsrun(root, ['run', '-b', scratch!.bundle(['echo', 'ok']), id('base')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
  });
});
