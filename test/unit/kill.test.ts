import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killContainer } from '../../src/runtime/container/kill.js';
import type { Context } from '../../src/runtime/container/context.js';
import { readStat } from '../../src/sys/proc.js';
import { makeContainerDir, saveRecord, type ContainerRecord } from '../../src/runtime/state-store.js';
import { FakeSyscalls } from '../../src/sys/fake.js';
import { KoffiSyscalls } from '../../src/sys/koffi.js';
import { caught } from '../helpers/caught.js';

// kill against the recording fake: which signals reach which pid, and the
// words a caller gets when there is nobody to signal. "Running" is this test
// process itself (alive, with its real start time); "stopped" is pid 0.

const real = new KoffiSyscalls();
const root = mkdtempSync(join(tmpdir(), 'tsrun-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function container(id: string, alive: boolean): void {
  makeContainerDir(real, root, id);
  const rec: ContainerRecord = {
    ociVersion: '1.2.0', id, bundle: '/b', rootfs: '/b/rootfs', stage: 'created', creatorPid: 0, creatorStartTime: '0',
    pid: alive ? process.pid : 0, initStartTime: alive ? readStat(process.pid)!.startTime : '0',
    created: '2026-01-01T00:00:00.000Z', owner: 'root', annotations: {}, spec: { ociVersion: '1.2.0' } as ContainerRecord['spec'],
  };
  saveRecord(real, root, rec);
}

const ctx = (sys: FakeSyscalls): Context => ({ root, sys, log: { warn: () => undefined, debug: () => undefined } });
container('up', true);
container('down', false);

describe('kill', () => {
  it.each([['TERM', 15], ['sigkill', 9], ['0', 0], ['10', 10]])('%s reaches the init as %i', (sig, n) => {
    const sys = new FakeSyscalls();
    killContainer(ctx(sys), 'up', sig);
    expect(sys.calls).toEqual([{ name: 'kill', args: [process.pid, n] }]);
  });
  it('a stopped container: "container not running", nothing sent', () => {
    const sys = new FakeSyscalls();
    expect(caught(() => killContainer(ctx(sys), 'down', 'KILL')).message).toBe('container not running');
    expect(caught(() => killContainer(ctx(sys), 'down', '0')).message).toBe('container not running');
    expect(sys.calls).toEqual([]);
  });
  it('--all of a stopped container is not an error (runc), and sends nothing', () => {
    const sys = new FakeSyscalls();
    killContainer(ctx(sys), 'down', 'KILL', true);
    expect(sys.calls).toEqual([]);
  });
  it('an init that exits between the look and the signal: "container not running"', () => {
    const sys = new FakeSyscalls().failOn('kill', 'ESRCH');
    expect(caught(() => killContainer(ctx(sys), 'up', '0')).message).toBe('container not running');
  });
  it('an unknown signal is refused before anything is sent; an unknown id does not exist', () => {
    const sys = new FakeSyscalls();
    expect(caught(() => killContainer(ctx(sys), 'up', 'FOO')).message).toBe('unknown signal "FOO"');
    expect(caught(() => killContainer(ctx(sys), 'nope', 'KILL')).message).toBe('container "nope" does not exist');
    expect(sys.calls).toEqual([]);
  });
});
