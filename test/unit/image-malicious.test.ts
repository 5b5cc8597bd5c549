import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { importBundle } from '../../src/image/import.js';
import { snapshot, tarBytes, writeOciLayout, dockerArchive, type TarEntry } from '../integration/image-fixtures.js';

// Archives that try to write outside the rootfs, and broken archives: each
// gives an error naming the entry or file, writes nothing outside the import's
// temp dir (the whole scratch tree is compared before and after) and leaves no
// bundle. Escapes aim at a temp "outside" dir; /etc is only read.

const T = mkdtempSync(join(tmpdir(), 'tsrun-image-mal-'));
const outside = join(T, 'outside');
const bundles = join(T, 'bundles');
let n = 0;
const sys = { mknod: (): void => {} };

afterAll(() => rmSync(T, { recursive: true, force: true }));

beforeEach(() => {
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'marker'), 'untouched\n');
  mkdirSync(bundles, { recursive: true });
});

/** An OCI layout holding one image made of `layers`. */
function layout(...layers: TarEntry[][]): string {
  const dir = join(T, `layout-${++n}`);
  writeOciLayout(dir, [{ tags: ['t'], layers: layers.map((l) => ({ tar: tarBytes(l) })), config: { Cmd: ['/bin/true'] } }]);
  return dir;
}

/** Imports `source`, expecting failure; proves nothing changed under T (besides `source` being there). */
async function refused(source: string, message: RegExp): Promise<void> {
  const before = snapshot(T);
  const target = join(bundles, `b${++n}`);
  await expect(importBundle({ source, bundleDir: target, sys })).rejects.toThrow(message);
  expect(snapshot(T)).toEqual(before);
  expect(existsSync(target)).toBe(false);
  expect(readFileSync(join(outside, 'marker'), 'utf8')).toBe('untouched\n');
}

const base: TarEntry[] = [{ path: 'etc/', type: 'Directory' }, { path: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' }];

describe('malicious layers', () => {
  it('"../" climbing out of the rootfs', async () => {
    await refused(layout(base, [{ path: '../../../outside/escape', data: 'x' }]), /entry "\.\.\/\.\.\/\.\.\/outside\/escape": path escapes the rootfs/);
  });

  it('an absolute path is made relative: it lands inside the rootfs', async () => {
    const abs = join(outside, 'abs');
    const target = join(bundles, 'abs');
    await importBundle({ source: layout(base, [{ path: abs, data: 'inside' }]), bundleDir: target, sys });
    expect(existsSync(abs)).toBe(false);
    expect(readFileSync(join(target, 'rootfs', abs), 'utf8')).toBe('inside');
    rmSync(target, { recursive: true });
  });

  it('an absolute symlink, then a file through it', async () => {
    await refused(
      layout(base, [{ path: 'evil', type: 'SymbolicLink', linkpath: outside }, { path: 'evil/passwd', data: 'pwned' }]),
      new RegExp(`entry "evil/passwd": its path goes through symlink "evil" -> "${outside}", which points outside the rootfs`),
    );
  });

  it('a symlink to /etc in one layer, evil/passwd in the next (/etc is only read)', async () => {
    const before = statSync('/etc/passwd');
    await refused(
      layout(base, [{ path: 'evil', type: 'SymbolicLink', linkpath: '/etc' }], [{ path: 'evil/passwd', data: 'pwned' }]),
      /layer 3\/3 .*entry "evil\/passwd": its path goes through symlink "evil" -> "\/etc"/,
    );
    const after = statSync('/etc/passwd');
    expect([after.mtimeMs, after.size, after.ino]).toEqual([before.mtimeMs, before.size, before.ino]);
  });

  it('a relative symlink that climbs out, then a file through it', async () => {
    await refused(
      layout(base, [{ path: 'a/', type: 'Directory' }, { path: 'a/up', type: 'SymbolicLink', linkpath: '../../../../outside' }, { path: 'a/up/x', data: 'pwned' }]),
      /entry "a\/up\/x": a symlink in its path climbs above the rootfs/,
    );
  });

  it('a hard link to /etc/shadow', async () => {
    await refused(layout(base, [{ path: 'shadow', type: 'Link', linkpath: '/etc/shadow' }]), /entry "shadow": hard link to absolute path "\/etc\/shadow" outside the rootfs/);
  });

  it('a hard link climbing out to a file outside', async () => {
    await refused(layout(base, [{ path: 'm', type: 'Link', linkpath: '../../../outside/marker' }]), /entry "m": hard link target "..\/..\/..\/outside\/marker" escapes the rootfs/);
    expect(statSync(join(outside, 'marker')).nlink).toBe(1);
  });

  it('a hard link through an absolute symlink', async () => {
    await refused(
      layout(base, [{ path: 'o', type: 'SymbolicLink', linkpath: outside }, { path: 'm', type: 'Link', linkpath: 'o/marker' }]),
      /entry "m": its path goes through symlink "o"/,
    );
    expect(statSync(join(outside, 'marker')).nlink).toBe(1);
  });

  it('a whiteout that names ".."', async () => {
    await refused(layout(base, [{ path: 'etc/.wh...', data: '' }]), /entry "etc\/.wh...": bad whiteout name/);
  });
});

describe('bad archives', () => {
  const good = (): TarEntry[] => [...base, { path: 'etc/hostname', data: 'x'.repeat(3000) }];

  it('a layer blob whose content does not match its digest', async () => {
    const dir = join(T, 'wrong-digest');
    const { layers } = writeOciLayout(dir, [{ tags: [], layers: [{ tar: tarBytes(good()) }], config: {} }]);
    const blob = join(dir, 'blobs/sha256', layers[0]![0]!.slice(7));
    const bytes = readFileSync(blob);
    bytes[1030] = bytes[1030]! ^ 0xff; // inside etc/passwd's data: still a valid tar
    writeFileSync(blob, bytes);
    await refused(dir, /digest mismatch: expected sha256:/);
  });

  it('a manifest blob whose content does not match its digest', async () => {
    const dir = join(T, 'wrong-manifest');
    const { manifests } = writeOciLayout(dir, [{ tags: [], layers: [{ tar: tarBytes(good()) }], config: {} }]);
    const blob = join(dir, 'blobs/sha256', manifests[0]!.slice(7));
    writeFileSync(blob, readFileSync(blob, 'utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
    await refused(dir, /digest mismatch/);
  });

  it('a truncated gzip layer', async () => {
    const dir = join(T, 'trunc-gz');
    const { layers } = writeOciLayout(dir, [{ tags: [], layers: [{ tar: tarBytes(good()), gzip: true }], config: {} }]);
    const blob = join(dir, 'blobs/sha256', layers[0]![0]!.slice(7));
    const bytes = readFileSync(blob);
    writeFileSync(blob, bytes.subarray(0, bytes.length >> 1));
    await refused(dir, /layer 1\/1 .*(corrupt gzip stream|unexpected end of file)/);
  });

  it('a truncated uncompressed layer', async () => {
    const dir = join(T, 'trunc-tar');
    writeOciLayout(dir, [{ tags: [], layers: [{ tar: tarBytes(good(), { trailer: false }).subarray(0, 2560) }], config: {} }]);
    await refused(dir, /layer 1\/1 .*(not a valid tar archive|Truncated)/);
  });

  it('a missing layer blob', async () => {
    const dir = join(T, 'missing-blob');
    const { layers } = writeOciLayout(dir, [{ tags: [], layers: [{ tar: tarBytes(good()) }], config: {} }]);
    rmSync(join(dir, 'blobs/sha256', layers[0]![0]!.slice(7)));
    await refused(dir, /missing blob sha256:/);
  });

  it('a docker archive without manifest.json', async () => {
    const file = join(T, 'no-manifest.tar');
    writeFileSync(file, dockerArchive([{ tags: ['x:1'], layers: [{ tar: tarBytes(good()) }], config: {} }], { manifest: false }));
    await refused(file, /no manifest\.json \(docker save\) or index\.json \(OCI archive\)/);
  });

  it('a truncated docker archive', async () => {
    const file = join(T, 'trunc.tar');
    const full = dockerArchive([{ tags: ['x:1'], layers: [{ tar: tarBytes(good()) }], config: {} }]);
    writeFileSync(file, full.subarray(0, full.length - 2048 - 600));
    await refused(file, /trunc\.tar: not a valid tar archive/);
  });

  it('a directory that is not an OCI layout', async () => {
    const dir = join(T, 'not-a-layout');
    mkdirSync(dir);
    await refused(dir, /not an OCI image layout \(no "oci-layout" file\)/);
  });

  it('a non-empty target directory is refused before anything is read', async () => {
    const target = join(bundles, 'full');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'k');
    await expect(importBundle({ source: layout(base), bundleDir: target, sys })).rejects.toThrow(/exists and is not an empty directory/);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('k');
    rmSync(target, { recursive: true });
  });
});
