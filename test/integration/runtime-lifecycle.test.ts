import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scratch, isRoot, stateOf, tsrun, tsrunAsync, waitFor, ROOTFS } from '../helpers/bundle.js';
import { cmdline, pidNs } from '../helpers/leak-check.js';
import { finishFile } from '../helpers/outcome.js';

// The lifecycle through the CLI as root: create → created → start → running →
// kill → stopped → delete, run in the foreground and detached, exit codes,
// signal forwarding, kill --all, ps and list. Ids start with rt-life-.

const scratch = isRoot ? new Scratch('rt-life') : undefined;
const root = scratch?.root ?? '';
const ids: string[] = [];
const id = (name: string): string => {
  ids.push(`rt-life-${name}`);
  return `rt-life-${name}`;
};
/** Alive and not a zombie. */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !'ZX'.includes(stat.slice(stat.lastIndexOf(')') + 2)[0]!);
  } catch {
    return false;
  }
};
const ok = (r: { code: number | null; stderr: string }) => expect(r.stderr + `(exit ${r.code})`).toBe('(exit 0)');

afterAll(() => {
  if (scratch) finishFile({ root, scratch, ids, dirs: [scratch.dir, ROOTFS] });
});

describe.skipIf(!isRoot)('container lifecycle', () => {
  it('create → created (pid file first) → start → running → kill → stopped → delete', async () => {
    const c = id('walk');
    const bundle = scratch!.bundle(['sleep', '30']);
    const pidFile = join(scratch!.dir, 'walk.pid');
    ok(tsrun(root, ['create', '-b', bundle, '--pid-file', pidFile, c]));
    // written before create returned
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    let st = stateOf(root, c)!;
    expect(st).toMatchObject({ id: c, status: 'created', pid, bundle });
    expect(alive(pid)).toBe(true);
    expect(cmdline(pid)).toMatch(/\/dist\/(runtime\/process\/)?stage\b/); // still the C stage, waiting on exec.fifo
    expect(pidNs(pid)).not.toBe(pidNs(process.pid));

    ok(tsrun(root, ['start', c]));
    st = stateOf(root, c)!;
    expect(st).toMatchObject({ status: 'running', pid });
    expect(cmdline(pid)).toBe('sleep 30'); // the reported pid became the container process

    const ps = tsrun(root, ['ps', '--format', 'json', c]);
    ok(ps);
    expect(JSON.parse(ps.stdout)).toEqual([pid]);
    const list = tsrun(root, ['list', '--format', 'json']);
    ok(list);
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ id: c, pid, status: 'running', bundle }));

    ok(tsrun(root, ['kill', c, 'KILL']));
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'status stopped');
    expect(stateOf(root, c)!.pid).toBe(0);
    expect(alive(pid)).toBe(false);

    ok(tsrun(root, ['delete', c]));
    expect(existsSync(join(root, c))).toBe(false);
    const gone = tsrun(root, ['state', c]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`container "${c}" does not exist`);
  });

  it('kill takes signal names with or without SIG and numbers', async () => {
    const c = id('signames');
    // pid 1 of a namespace only gets the signals it handles (besides KILL/STOP)
    const bundle = scratch!.bundle(['sh', '-c', 'trap "echo usr1" USR1; trap "exit 7" TERM; echo up; while :; do sleep 0.05; done']);
    const run = tsrunAsync(root, ['run', '-b', bundle, c]);
    await waitFor(() => run.child.exitCode === null && stateOf(root, c)?.status === 'running', 'running');
    ok(tsrun(root, ['kill', c, 'USR1']));
    ok(tsrun(root, ['kill', c, 'SIGUSR1']));
    ok(tsrun(root, ['kill', c, '15']));
    const r = await run.done;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout.split('\n').filter((l) => l === 'usr1')).toHaveLength(2);
  });

  it('run exits with the container exit code and removes the container', () => {
    const c = id('exit42');
    const r = tsrun(root, ['run', '-b', scratch!.bundle(['sh', '-c', 'echo bye; exit 42']), c]);
    expect(r.code, r.stderr).toBe(42);
    expect(r.stdout).toBe('bye\n');
    expect(existsSync(join(root, c))).toBe(false);
  });

  it('run exits with 128+n when the container is killed by signal n', async () => {
    const c = id('killed');
    const run = tsrunAsync(root, ['run', '-b', scratch!.bundle(['sleep', '30']), c]);
    await waitFor(() => stateOf(root, c)?.status === 'running', 'running');
    ok(tsrun(root, ['kill', c, 'SIGKILL']));
    const r = await run.done;
    expect(r.code, r.stderr).toBe(128 + 9);
    expect(existsSync(join(root, c))).toBe(false);
  });

  it('run forwards SIGTERM to the container and exits with its code', async () => {
    const c = id('forward');
    const bundle = scratch!.bundle(['sh', '-c', 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done']);
    const run = tsrunAsync(root, ['run', '-b', bundle, c]);
    let out = '';
    run.child.stdout!.on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('ready'), 'the container to trap TERM');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.stdout).toBe('ready\ngot-term\n');
    expect(r.code, r.stderr).toBe(3);
  });

  it('run -d returns at once and leaves the container running; kill --all stops every process', async () => {
    const c = id('detach');
    const started = Date.now();
    const r = tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sh', '-c', 'sleep 30 & sleep 30 & wait']), c]);
    ok(r);
    expect(Date.now() - started).toBeLessThan(15_000);
    const st = stateOf(root, c)!;
    expect(st.status).toBe('running');
    await waitFor(() => JSON.parse(tsrun(root, ['ps', '--format', 'json', c]).stdout).length === 3, 'three processes');
    const pids = JSON.parse(tsrun(root, ['ps', '--format', 'json', c]).stdout) as number[];
    expect(pids).toContain(st.pid);
    const table = tsrun(root, ['ps', c]).stdout;
    expect(table).toContain('sleep 30');

    ok(tsrun(root, ['kill', '--all', c, 'KILL']));
    await waitFor(() => pids.every((p) => !alive(p)), 'every container process to die');
    await waitFor(() => stateOf(root, c)?.status === 'stopped', 'status stopped');
    ok(tsrun(root, ['delete', c]));
    expect(existsSync(join(root, c))).toBe(false);
  });

  it('delete --force removes a running container and its processes', async () => {
    const c = id('force');
    ok(tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sleep', '30']), c]));
    const pid = stateOf(root, c)!.pid;
    expect(alive(pid)).toBe(true);
    ok(tsrun(root, ['delete', '--force', c]));
    expect(existsSync(join(root, c))).toBe(false);
    await waitFor(() => !alive(pid), 'the container process to die');
  });

  it('delete of a created (never started) container kills its init', async () => {
    const c = id('created-del');
    ok(tsrun(root, ['create', '-b', scratch!.bundle(['true']), c]));
    const pid = stateOf(root, c)!.pid;
    expect(alive(pid)).toBe(true);
    ok(tsrun(root, ['delete', c]));
    expect(existsSync(join(root, c))).toBe(false);
    await waitFor(() => !alive(pid), 'the init to die');
  });

  it('tsrun run BUNDLE-DIR runs with a generated id and cleans up', () => {
    const r = tsrun(root, ['run', scratch!.bundle(['echo', 'by-dir'])]);
    ok(r);
    expect(r.stdout).toBe('by-dir\n');
    expect(tsrun(root, ['list', '--format', 'json']).stdout.trim()).toBe('[]');
  });
});
