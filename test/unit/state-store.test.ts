import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { child } from '../../src/common/paths.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';
import { AT, AT_FDCWD, O } from '../../src/sys/constants.js';
import {
  containerDir,
  fifoPath,
  listIds,
  loadRecord,
  makeContainerDir,
  removeContainerDir,
  saveRecord,
  withLock,
  writeFileAtomic,
  type ContainerRecord,
} from '../../src/runtime/state-store.js';
import { caught } from '../helpers/caught.js';

// <root>/<id>/state.json: atomic replacement, ids that cannot escape the
// root, clear errors for missing and corrupt state, the per-container lock.

const real = new KoffiSyscalls();
const base = mkdtempSync(join(tmpdir(), 'tsrun-unit-state-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const newRoot = () => join(base, `root-${++n}`);

function record(id: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ociVersion: '1.2.0', id, bundle: '/b', rootfs: '/b/rootfs', pid: 42, initStartTime: '100', stage: 'created',
    creatorPid: 41, creatorStartTime: '99', created: '2024-01-01T00:00:00.000Z', owner: 'root',
    annotations: { a: 'b' }, spec: { ociVersion: '1.2.0' } as ContainerRecord['spec'], ...over,
  };
}


describe('writeFileAtomic', () => {
  it('replaces the file by rename: a reader holding the old file keeps the old content whole', () => {
    const f = join(base, 'atomic.json');
    writeFileAtomic(real, f, 'old content');
    const fd = openSync(f, 'r');
    const inode = statSync(f).ino;
    writeFileAtomic(real, f, 'new');
    const buf = Buffer.alloc(64);
    const len = readSync(fd, buf, 0, 64, 0);
    closeSync(fd);
    expect(buf.toString('utf8', 0, len)).toBe('old content'); // not truncated in place
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(statSync(f).ino).not.toBe(inode);
  });

  it('goes through the door: a temp file opened, written once, closed, renamed over the target; unlinked when that fails', () => {
    const sys = new FakeSyscalls();
    writeFileAtomic(sys, '/r/c/state.json', '{"a":1}');
    const tmp = `/r/c/state.json.tmp-${process.pid}`;
    expect(sys.calls.map((c) => [c.name, ...c.args])).toEqual([
      ['openat', AT_FDCWD, tmp, O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC, 0o600],
      ['write', 100, '{"a":1}'],
      ['close', 100],
      ['renameat', AT_FDCWD, tmp, AT_FDCWD, '/r/c/state.json'],
    ]);
    const failing = new FakeSyscalls().failOn('renameat', 'EISDIR');
    expect(() => writeFileAtomic(failing, '/r/c/pid', '1', 0o644)).toThrow(/EISDIR/);
    expect(failing.calls.at(-1)).toEqual({ name: 'unlinkat', args: [AT_FDCWD, `/r/c/pid.tmp-${process.pid}`, 0] });
  });

  it('makeContainerDir and removeContainerDir go through the door too', () => {
    const root = newRoot();
    const sys = new FakeSyscalls();
    makeContainerDir(sys, root, 'c9');
    expect(sys.calls).toEqual([
      { name: 'mkdirat', args: [AT_FDCWD, root, 0o700] },
      { name: 'mkdirat', args: [AT_FDCWD, join(root, 'c9'), 0o711] },
    ]);
    makeContainerDir(real, root, 'c9');
    writeFileSync(join(root, 'c9/state.json'), '{}');
    sys.calls.length = 0;
    removeContainerDir(sys, root, 'c9');
    expect(sys.calls).toEqual([
      { name: 'unlinkat', args: [AT_FDCWD, join(root, 'c9/state.json'), 0] },
      { name: 'unlinkat', args: [AT_FDCWD, join(root, 'c9'), AT.REMOVEDIR] },
    ]);
  });

  it('leaves no temp file behind, on success or failure, and applies the mode', () => {
    const d = join(base, 'tmpfiles');
    mkdirSync(d);
    writeFileAtomic(real, join(d, 'pid'), '123', 0o644);
    expect(statSync(join(d, 'pid')).mode & 0o777).toBe(0o644);
    writeFileAtomic(real, join(d, 'state.json'), '{}');
    expect(statSync(join(d, 'state.json')).mode & 0o777).toBe(0o600);
    // renaming over a directory fails: the temp file must be cleaned up
    mkdirSync(join(d, 'isdir'));
    expect(() => writeFileAtomic(real, join(d, 'isdir'), 'x')).toThrow();
    expect(readdirSync(d).sort()).toEqual(['isdir', 'pid', 'state.json']);
  });
});

describe('container dirs and records', () => {
  it('saves and loads a record as state.json (0600, no temp files)', () => {
    const root = newRoot();
    makeContainerDir(real, root, 'c1');
    saveRecord(real, root, record('c1'));
    saveRecord(real, root, record('c1', { pid: 43 }));
    expect(loadRecord(root, 'c1')).toEqual(record('c1', { pid: 43 }));
    expect(readdirSync(join(root, 'c1'))).toEqual(['state.json']);
    expect(statSync(join(root, 'c1', 'state.json')).mode & 0o777).toBe(0o600);
  });

  it('a second makeContainerDir of the same id fails with EXISTS', () => {
    const root = newRoot();
    makeContainerDir(real, root, 'dup');
    const e = caught(() => makeContainerDir(real, root, 'dup'));
    expect(e.code).toBe('EXISTS');
    expect(e.message).toContain('container with given ID already exists: "dup"');
  });

  it('ids that could leave the root are refused before touching the disk', () => {
    const root = newRoot();
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a\\b', 'a b', 'x\n']) {
      expect(caught(() => makeContainerDir(real, root, bad)).code).toBe('BAD_INPUT');
      expect(caught(() => containerDir(root, bad)).code).toBe('BAD_INPUT');
    }
    expect(existsSync(join(base, 'x'))).toBe(false);
    expect(fifoPath(root, 'ok.id_1+2-3')).toBe(join(root, 'ok.id_1+2-3', 'exec.fifo'));
  });

  it('a missing container is NOT_FOUND; a corrupt state file says so and how to recover', () => {
    const root = newRoot();
    expect(caught(() => loadRecord(root, 'ghost')).code).toBe('NOT_FOUND');
    makeContainerDir(real, root, 'bad');
    writeFileSync(join(root, 'bad', 'state.json'), '{"id": "bad", trunc');
    const e = caught(() => loadRecord(root, 'bad'));
    expect(e.message).toContain('state file is corrupt');
    expect(e.hint).toContain('delete --force bad');
  });

  it('listIds: directories only, sorted; a missing root lists nothing', () => {
    const root = newRoot();
    expect(listIds(root)).toEqual([]);
    for (const id of ['b', 'a', 'c']) makeContainerDir(real, root, id);
    writeFileSync(join(root, 'stray-file'), '');
    expect(listIds(root)).toEqual(['a', 'b', 'c']);
    removeContainerDir(real, root, 'b');
    removeContainerDir(real, root, 'b'); // idempotent
    expect(listIds(root)).toEqual(['a', 'c']);
  });
});

describe('withLock', () => {
  it('opens the lock file, takes LOCK_EX, runs, then closes', async () => {
    const root = newRoot();
    makeContainerDir(real, root, 'l');
    const sys = new FakeSyscalls();
    const seen: number[] = [];
    const out = await withLock(sys, root, 'l', async () => {
      seen.push(sys.calls.length);
      return 7;
    });
    expect(out).toBe(7);
    expect(sys.calls).toEqual([
      { name: 'open', args: [join(root, 'l', '.lock'), O.RDWR | O.CREAT | O.CLOEXEC, 0o600] },
      { name: 'flock', args: [100, 2] },
      { name: 'close', args: [100] },
    ]);
    expect(seen).toEqual([2]);
  });

  it('closes the lock even when the body throws', async () => {
    const sys = new FakeSyscalls();
    await expect(withLock(sys, newRoot(), 'x', async () => Promise.reject(new Error('body failed')))).rejects.toThrow('body failed');
    expect(sys.names()).toEqual(['open', 'flock', 'close']);
  });

  it('a container without a dir is NOT_FOUND', async () => {
    const sys = new FakeSyscalls().failOn('open', 'ENOENT');
    await expect(withLock(sys, newRoot(), 'gone', async () => 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('container paths by concatenation', () => {
  it('child() names what path.join names, for the roots a user may give', () => {
    // the same file as join's, without its clean-up of "." and "//" (the kernel resolves those)
    const cases: [string, string][] = [['/run/tsrun', '/run/tsrun/c1'], ['/run/tsrun/', '/run/tsrun/c1'], ['rel', 'rel/c1'], ['rel/', 'rel/c1'], ['', 'c1'], ['/', '/c1'], ['./x', './x/c1']];
    for (const [dir, want] of cases) expect(child(dir, 'c1'), JSON.stringify(dir)).toBe(want);
    expect(containerDir('', 'c1')).toBe('c1'); // --root "": the current directory, never "/c1"
    expect(fifoPath('/run/tsrun/', 'c1')).toBe('/run/tsrun/c1/exec.fifo');
  });
});

