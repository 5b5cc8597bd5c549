import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NetnsStore } from '../../src/network/netns.js';
import { CLONE, MNT_DETACH, MS, O } from '../../src/sys/constants.js';
import { FakeSyscalls } from '../../src/sys/fake.js';

// The syscall sequence of a netns handle, on the recording fake.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsn4-netns-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('NetnsStore', () => {
  it('add: shared dir (under a flock of it, as ip netns takes), unshare, bind the thread netns, then go back home', () => {
    const sys = new FakeSyscalls().failOn('mount', 'EINVAL', 1);
    new NetnsStore(sys, dir).add('n1');
    expect(sys.calls.map((c) => [c.name, ...c.args])).toEqual([
      ['open', dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0],
      ['flock', 100, 2],
      ['mount', '', dir, 'none', MS.SHARED | MS.REC, null],
      ['mount', dir, dir, 'none', MS.BIND | MS.REC, null],
      ['mount', '', dir, 'none', MS.SHARED | MS.REC, null],
      ['close', 100],
      ['open', '/proc/thread-self/ns/net', expect.any(Number), 0],
      ['unshare', CLONE.NEWNET],
      ['mount', '/proc/thread-self/ns/net', join(dir, 'n1'), 'none', MS.BIND, null],
      ['setns', 101, CLONE.NEWNET],
      ['close', 101],
    ]);
    expect(existsSync(join(dir, 'n1'))).toBe(true);
  });

  it('add: a failed bind removes the file and still returns to the home namespace', () => {
    const sys = new FakeSyscalls().failOn('mount', 'EPERM', 1, (a) => a[3] === MS.BIND);
    expect(() => new NetnsStore(sys, dir).add('n1')).toThrow(/EPERM/);
    expect(existsSync(join(dir, 'n1'))).toBe(false);
    expect(sys.names().slice(-2)).toEqual(['setns', 'close']);
  });

  it('delete: lazy unmount then unlink; an unmounted file is still removed', () => {
    const sys = new FakeSyscalls();
    const store = new NetnsStore(sys, dir);
    store.add('n1');
    sys.calls.length = 0;
    sys.failOn('umount2', 'EINVAL', 1);
    store.delete('n1');
    expect(sys.calls).toEqual([{ name: 'umount2', args: [join(dir, 'n1'), MNT_DETACH] }]);
    expect(existsSync(join(dir, 'n1'))).toBe(false);
  });

  it('rejects names that would escape the directory', () => {
    expect(() => new NetnsStore(new FakeSyscalls(), dir).add('../etc')).toThrow(/invalid netns name/);
  });
});
