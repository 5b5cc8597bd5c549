import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpackLayers } from '../../src/image/unpack.js';
import { makedev } from '../../src/runtime/rootfs/devices.js';
import { S } from '../../src/sys/constants.js';
import { snapshot, tarBytes, type TarEntry } from '../integration/image-fixtures.js';

// Layers unpacked with a recording mknod: device nodes and FIFOs go through
// the Syscalls seam with the tar's type, mode and major:minor (tar 7's Unpack
// skips them as unsupported); whiteouts in either order.

const T = mkdtempSync(join(tmpdir(), 'tsrun-image-unpack-'));
afterAll(() => rmSync(T, { recursive: true, force: true }));
let n = 0;

function layers(...ls: TarEntry[][]): { path: string }[] {
  return ls.map((l) => {
    const path = join(T, `layer-${++n}.tar`);
    writeFileSync(path, tarBytes(l));
    return { path };
  });
}

function fakeSys(): { calls: [string, number, bigint][]; mknod(p: string, m: number, d: bigint): void } {
  const calls: [string, number, bigint][] = [];
  return {
    calls,
    mknod(p, m, d) {
      calls.push([p, m, d]);
      writeFileSync(p, ''); // a stand-in so owner and mode can still be applied
    },
  };
}

function rootfs(): string {
  const r = join(T, `rootfs-${++n}`);
  mkdirSync(r);
  return r;
}

describe('unpackLayers', () => {
  it('device nodes and FIFOs through mknod', async () => {
    const root = rootfs();
    const sys = fakeSys();
    await unpackLayers(
      root,
      layers([
        { path: 'dev/null', type: 'CharacterDevice', mode: 0o666, devmaj: 1, devmin: 3 },
        { path: 'dev/sda', type: 'BlockDevice', mode: 0o660, devmaj: 8, devmin: 0 },
        { path: 'dev/big', type: 'CharacterDevice', mode: 0o600, devmaj: 300, devmin: 70000 },
        { path: 'run/fifo', type: 'FIFO', mode: 0o640 },
      ]),
      sys,
    );
    expect(sys.calls).toEqual([
      [join(root, 'dev/null'), S.IFCHR | 0o666, makedev(1, 3)],
      [join(root, 'dev/sda'), S.IFBLK | 0o660, makedev(8, 0)],
      [join(root, 'dev/big'), S.IFCHR | 0o600, makedev(300, 70000)],
      [join(root, 'run/fifo'), S.IFIFO | 0o640, 0n],
    ]);
  });

  it('an opaque marker before or after the new entries hides only the lower ones', async () => {
    for (const markerFirst of [true, false]) {
      const root = rootfs();
      const marker: TarEntry = { path: 'd/.wh..wh..opq' };
      const fresh: TarEntry[] = [{ path: 'd/', type: 'Directory' }, { path: 'd/new' }, { path: 'd/keep/', type: 'Directory' }, { path: 'd/keep/new2' }];
      const lower: TarEntry[] = [{ path: 'd/', type: 'Directory' }, { path: 'd/old' }, { path: 'd/keep/', type: 'Directory' }, { path: 'd/keep/old2' }, { path: 'e' }];
      await unpackLayers(root, layers(lower, markerFirst ? [marker, ...fresh] : [...fresh, marker]), fakeSys());
      expect(Object.keys(snapshot(root))).toEqual(['.', 'd', 'd/keep', 'd/keep/new2', 'd/new', 'e']);
    }
  });

  it('a whiteout removes a whole lower directory, and a later layer may bring it back', async () => {
    const root = rootfs();
    await unpackLayers(root, layers([{ path: 'x/a/b' }, { path: 'y' }], [{ path: '.wh.x' }], [{ path: 'x/c' }]), fakeSys());
    expect(Object.keys(snapshot(root))).toEqual(['.', 'x', 'x/c', 'y']);
  });

  it('a file replaces a lower symlink instead of writing through it', async () => {
    const root = rootfs();
    const outside = join(T, 'target-outside');
    writeFileSync(outside, 'keep');
    await unpackLayers(root, layers([{ path: 'f', type: 'SymbolicLink', linkpath: outside }], [{ path: 'f', data: 'new' }]), fakeSys());
    expect(snapshot(root)['f']).toMatch(/^file 0644 3B/);
    expect(snapshot(T)['target-outside']).toMatch(/^file 0644 4B/);
  });
});
