import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpawnedChild, decodeWaitStatus } from '../../src/runtime/process/child.js';
import { exitStatus } from '../../src/runtime/container/foreground.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';

describe('decodeWaitStatus', () => {
  it('an exit code, or the signal that killed the process', () => {
    expect(decodeWaitStatus(7 << 8)).toEqual({ code: 7, signal: null });
    expect(decodeWaitStatus(0)).toEqual({ code: 0, signal: null });
    expect(decodeWaitStatus(9)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(decodeWaitStatus(15 | 0x80)).toEqual({ code: null, signal: 'SIGTERM' }); // with a core dump
  });
});

describe('SpawnedChild on the fake', () => {
  it('waits only when asked, once, and reports as ChildProcess does', async () => {
    const sys = new FakeSyscalls();
    const child = new SpawnedChild(sys, 4321);
    child.unref();
    expect(sys.calls.filter((c) => c.name === 'waitpidNoHang')).toEqual([]);
    sys.waitStatus.set(4321, 3 << 8);
    await expect(exitStatus(child)).resolves.toBe(3);
    await expect(exitStatus(child)).resolves.toBe(3);
    expect(sys.calls.filter((c) => c.name === 'waitpidNoHang')).toHaveLength(1);
    expect(child.exitCode).toBe(3);
  });
  it('killed by a signal: 128+n, as a shell says it', async () => {
    const sys = new FakeSyscalls();
    sys.waitStatus.set(99, 9);
    await expect(exitStatus(new SpawnedChild(sys, 99))).resolves.toBe(137);
  });
  it('kill() goes through the door', () => {
    const sys = new FakeSyscalls();
    expect(new SpawnedChild(sys, 55).kill('SIGKILL')).toBe(true);
    expect(sys.calls.at(-1)).toMatchObject({ name: 'kill', args: [55, 9] });
  });
});

describe('KoffiSyscalls.spawn (posix_spawn), waited for by SpawnedChild (waitpid WNOHANG on SIGCHLD)', () => {
  const sys = new KoffiSyscalls();
  it('the child gets fds[i] as fd i, cwd /, no environment beyond envp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-spawn-'));
    try {
      const out = openSync(join(dir, 'out'), 'w');
      const extra = openSync(join(dir, 'extra'), 'w');
      let pid: number;
      try {
        // fd 1 and fd 3 of the child are two files of ours, given in swapped order of their numbers
        pid = sys.spawn('/bin/sh', ['sh', '-c', 'echo "$(pwd) $X" ; echo three >&3'], ['X=y'], [0, out, 2, extra]);
      } finally {
        closeSync(out);
        closeSync(extra);
      }
      await expect(exitStatus(new SpawnedChild(sys, pid))).resolves.toBe(0);
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('/ y\n');
      expect(readFileSync(join(dir, 'extra'), 'utf8')).toBe('three\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('signals are back at their defaults (Node ignores SIGPIPE)', async () => {
    const child = new SpawnedChild(sys, sys.spawn('/bin/sh', ['sh', '-c', 'kill -PIPE $$; exit 0'], [], [0, 1, 2]));
    await exitStatus(child);
    expect(child.signalCode).toBe('SIGPIPE');
  });
  it('a binary that cannot be run is an error naming posix_spawn and the errno', () => {
    expect(() => sys.spawn('/nonexistent/stage', ['x'], [], [0, 1, 2])).toThrow(/posix_spawn.*ENOENT/);
  });
  it('waiting for a process that is not our child is an error, not a hang', () => {
    expect(() => sys.waitpidNoHang(1)).toThrow(/waitpid.*ECHILD/);
  });
  it('a child still running: no status yet; it is waited for without blocking the event loop', async () => {
    const child = new SpawnedChild(sys, sys.spawn('/bin/sh', ['sh', '-c', 'sleep 0.2; exit 5'], [], [0, 1, 2]));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await expect(exitStatus(child)).resolves.toBe(5);
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThan(5);
  });
  it('an exit while nobody waits is found by the first check', async () => {
    const pid = sys.spawn('/bin/true', ['true'], [], [0, 1, 2]);
    await new Promise((r) => setTimeout(r, 100)); // its SIGCHLD came and went
    await expect(exitStatus(new SpawnedChild(sys, pid))).resolves.toBe(0);
  });
});
