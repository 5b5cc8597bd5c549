import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, tsrun, tsrunAsync, waitFor } from '../helpers/bundle.js';

// A delete that comes while another process is creating the same id. create
// holds the container's lock from its state directory's mkdir until the first
// state.json is saved (stage "creating", pid 0), and a live creator makes the
// status "creating": delete without --force refuses it instead of taking the
// directory for a killed create's and removing it under the creator. The
// creator and the lock holder are stand-ins (sleep, flock(1)) so each moment
// of the race is held still; no container is made. Ids cdrace-*.

let root: string;
const kids: ChildProcess[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cdrace-'));
});
afterAll(() => {
  for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const startTime = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;

/** A process standing in for `tsrun create`, and the state.json that create saves first. */
function creating(id: string, creator: ChildProcess): void {
  const record = {
    ociVersion: '1.2.0', id, bundle: root, rootfs: join(root, 'rootfs'), pid: 0, initStartTime: '', stage: 'creating',
    creatorPid: creator.pid, creatorStartTime: startTime(creator.pid!), created: new Date().toISOString(), owner: 'root', annotations: {}, spec: {},
  };
  writeFileSync(join(root, id, 'state.json'), JSON.stringify(record));
}

function sleeper(): ChildProcess {
  const p = spawn('sleep', ['600'], { stdio: 'ignore' });
  kids.push(p);
  return p;
}

async function end(p: ChildProcess): Promise<void> {
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

describe.skipIf(!isRoot)('delete while the same id is being created', () => {
  it('a live creator whose init is not launched yet: "creating", which delete refuses; once the creator is gone, "stopped"', async () => {
    const id = 'cdrace-1';
    mkdirSync(join(root, id), { mode: 0o711 });
    const creator = sleeper();
    creating(id, creator);
    expect(JSON.parse(tsrun(root, ['state', id]).stdout).status).toBe('creating');
    const del = tsrun(root, ['delete', id]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain(`cannot delete container ${id} that is not stopped: creating`);
    expect(existsSync(join(root, id, 'state.json'))).toBe(true);

    // --force: nothing to kill yet (pid 0 is no process; kill(0) would be the caller's own process group)
    const forced = tsrun(root, ['delete', '--force', id]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
    expect(creator.exitCode).toBe(null);
    mkdirSync(join(root, id), { mode: 0o711 });
    creating(id, creator);

    await end(creator); // a create killed before it launched the init
    expect(JSON.parse(tsrun(root, ['state', id]).stdout).status).toBe('stopped');
    expect(tsrun(root, ['delete', id]).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it('a delete that finds only the directory waits for the creator\'s lock, then sees its first state', async () => {
    const id = 'cdrace-2';
    mkdirSync(join(root, id), { mode: 0o711 });
    const lock = join(root, id, '.lock');
    // create between mkdir and its first save: one process holding the lock (flock(1) on the shell's fd 9, then exec)
    const holder = spawn('sh', ['-c', 'exec 9>"$1"; flock 9; exec sleep 600', 'sh', lock], { stdio: 'ignore' });
    kids.push(holder);
    await waitFor(() => spawnSync('flock', ['-n', lock, 'true']).status !== 0, 'the stand-in creator to hold the lock');
    const del = tsrunAsync(root, ['delete', id]);
    await new Promise((r) => setTimeout(r, 300)); // the delete is waiting on the lock by now (had it not, it would have removed the directory)
    expect(existsSync(join(root, id))).toBe(true);
    const creator = sleeper();
    creating(id, creator); // the first save, then the lock goes
    await end(holder);
    const r = await del.done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('that is not stopped: creating');
    expect(existsSync(join(root, id, 'state.json'))).toBe(true);
    await end(creator);
    expect(tsrun(root, ['delete', id]).code).toBe(0);
  });
});
