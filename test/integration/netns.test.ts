import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsStore } from '../../src/network/netns.js';
import { realSyscalls } from '../../src/sys/index.js';
import { cleanup, inNetns, isRoot, netnsExists, sh } from '../helpers/netns.js';

// Named netns handles through FFI, checked with iproute2 (the reference layout).
const names = ['tsn4n-a', 'tsn4n-b'];
afterAll(() => cleanup({ netns: names }));

const cli = (...args: string[]) => execa('node', ['dist/cli/main.js', ...args], { reject: false });

describe.skipIf(!isRoot)('tsrun netns', () => {
  it('add makes a namespace ip netns sees, with only lo, and del removes it', async () => {
    const store = new NetnsStore(await realSyscalls());
    const before = sh('readlink', ['/proc/self/ns/net']);
    store.add('tsn4n-a');
    expect(netnsExists('tsn4n-a')).toBe(true);
    expect(store.list()).toContain('tsn4n-a');
    expect(inNetns('tsn4n-a', ['ip', '-o', 'link']).trim().split('\n')).toHaveLength(1);
    // a different namespace from the host's, and this process stayed at home
    expect(inNetns('tsn4n-a', ['readlink', '/proc/self/ns/net'])).not.toBe(before);
    expect(sh('readlink', [`/proc/${process.pid}/task/${process.pid}/ns/net`])).toBe(before);
    expect(() => store.add('tsn4n-a')).toThrow(/already exists/);
    store.delete('tsn4n-a');
    expect(netnsExists('tsn4n-a')).toBe(false);
    expect(() => store.delete('tsn4n-a')).toThrow(/does not exist/);
    store.delete('tsn4n-a', { missingOk: true });
  });

  it('through the CLI: add, list, exec in the namespace, del', async () => {
    expect((await cli('netns', 'add', 'tsn4n-b')).exitCode).toBe(0);
    expect((await cli('netns', 'list')).stdout.split('\n')).toContain('tsn4n-b');
    sh('ip', ['-n', 'tsn4n-b', 'link', 'set', 'lo', 'up']);
    const r = await cli('netns', 'exec', 'tsn4n-b', '--', 'ip', '-o', 'addr', 'show', 'dev', 'lo');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('127.0.0.1/8');
    expect((await cli('netns', 'exec', 'tsn4n-b', 'sh', '-c', 'exit 3')).exitCode).toBe(3);
    expect((await cli('netns', 'del', 'tsn4n-b')).exitCode).toBe(0);
    const again = await cli('netns', 'del', 'tsn4n-b');
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/does not exist/);
  });
});
