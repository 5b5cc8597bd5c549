import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, isRoot } from '../helpers/bundle.js';
import { MTIME, dockerArchive, snapshot, tarBytes, writeOciLayout, type ImageSpec, type TarEntry } from './image-fixtures.js';

// `tsrun bundle import` through the CLI, as root, on images built here: a
// gzip base layer (busybox + applet symlinks, /etc, dirs to be whited out) and
// an uncompressed top layer (whiteouts, an opaque dir, a hard link, a char
// device, a FIFO, a symlink, a write through a relative symlink, setuid/sticky
// modes, odd owners). The rootfs is compared path by path, then the bundle
// runs with `tsrun run` and prints what the image config asked for.

const T = isRoot ? mkdtempSync(join(tmpdir(), 'tsrun-image-it-')) : '';
const stateRoot = join(T, 'state');
const BUSYBOX = readFileSync(join(REPO, 'bundles/busybox/rootfs/bin/busybox'));

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\nstaff:x:50:app\napp:x:1000:\n';
const dir = (path: string, mode = 0o755, uid = 0, gid = 0): TarEntry => ({ path, type: 'Directory', mode, uid, gid });
const applets = ['sh', 'cat', 'id', 'pwd', 'ls', 'echo', 'test'];

const lower: TarEntry[] = [
  dir('./'),
  dir('bin/'),
  { path: 'bin/busybox', mode: 0o755, data: BUSYBOX },
  ...applets.map((a): TarEntry => ({ path: `bin/${a}`, type: 'SymbolicLink', linkpath: 'busybox' })),
  dir('etc/'),
  { path: 'etc/passwd', data: PASSWD },
  { path: 'etc/group', data: GROUP },
  { path: 'etc/motd', data: 'hello from layer 1\n' },
  dir('usr/'),
  dir('usr/lib/'),
  { path: 'lib', type: 'SymbolicLink', linkpath: 'usr/lib' },
  dir('old/'),
  { path: 'old/a', data: 'a' },
  { path: 'old/b', data: 'b' },
  dir('opq/'),
  { path: 'opq/lower', data: 'lower' },
  dir('opq/sub/'),
  { path: 'opq/sub/lower2', data: 'lower2' },
  { path: 'gone', data: 'gone' },
  dir('gonedir/'),
  { path: 'gonedir/x', data: 'x' },
  dir('replace-me/'),
  { path: 'replace-me/inner', data: 'i' },
  dir('tmp/', 0o1777),
];

const upper: TarEntry[] = [
  { path: '.wh.gone', data: '' },
  { path: '.wh.gonedir', data: '' },
  { path: 'old/.wh.a', data: '' },
  dir('opq/'),
  { path: 'opq/new', data: 'new' },
  { path: 'opq/.wh..wh..opq', data: '' }, // after a sibling: it still survives
  dir('opq/sub/'),
  { path: 'opq/sub/upper', data: 'upper' },
  { path: 'etc/motd', data: 'hello from layer 2\n' },
  { path: 'replace-me', data: 'now a file' },
  dir('data/', 0o750, 1000, 50),
  { path: 'data/suid', mode: 0o4755, uid: 1000, gid: 50, data: '#!/bin/sh\n' },
  { path: 'data/hard', type: 'Link', linkpath: 'data/suid' },
  dir('data/sticky/', 0o1777),
  { path: 'data/odd', mode: 0o640, uid: 123, gid: 456, data: 'odd' },
  { path: 'data/motd', type: 'SymbolicLink', linkpath: '../etc/motd' },
  dir('dev/'),
  { path: 'dev/null', type: 'CharacterDevice', mode: 0o666, devmaj: 1, devmin: 3 },
  { path: 'dev/fifo', type: 'FIFO', mode: 0o620, uid: 1000, gid: 50 },
  { path: 'lib/libx.so', data: 'elf' }, // through lib -> usr/lib: lands in usr/lib
];

const CONFIG = {
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: ['cat /etc/motd; id -u; id -g; id -G; pwd; echo $GREETING; test -c /dev/null && echo dev-ok'],
  Env: ['GREETING=hi', 'PATH=/bin'],
  WorkingDir: '/data',
  User: 'app',
  ExposedPorts: { '80/tcp': {}, '53/udp': {} },
  Labels: { 'org.example.team': 'tsrun' },
};

const image: ImageSpec = { tags: ['example.com/tsrun/demo:v1'], layers: [{ tar: tarBytes(lower), gzip: true }, { tar: tarBytes(upper) }], config: CONFIG };
const other: ImageSpec = { tags: ['example.com/tsrun/other:v2'], layers: [{ tar: tarBytes([dir('x/')]) }], config: { Cmd: ['/x'] } };

const b = (mode: string, size: number, nlink = 1, owner = '0:0'): string => `file ${mode} ${size}B nlink=${nlink} ${owner}`;
const EXPECTED: Record<string, string> = {
  '.': 'dir 0755 0:0',
  bin: 'dir 0755 0:0',
  'bin/busybox': b('0755', BUSYBOX.length),
  ...Object.fromEntries(applets.map((a) => [`bin/${a}`, 'link -> busybox 0:0'])),
  data: 'dir 0750 1000:50',
  'data/hard': b('4755', 10, 2, '1000:50'),
  'data/motd': 'link -> ../etc/motd 0:0',
  'data/odd': b('0640', 3, 1, '123:456'),
  'data/sticky': 'dir 1777 0:0',
  'data/suid': b('4755', 10, 2, '1000:50'),
  dev: 'dir 0755 0:0',
  'dev/fifo': 'fifo 0620 1000:50',
  'dev/null': 'char 0666 1:3 0:0',
  etc: 'dir 0755 0:0',
  'etc/group': b('0644', GROUP.length),
  'etc/motd': b('0644', 19),
  'etc/passwd': b('0644', PASSWD.length),
  lib: 'link -> usr/lib 0:0',
  old: 'dir 0755 0:0',
  'old/b': b('0644', 1),
  opq: 'dir 0755 0:0',
  'opq/new': b('0644', 3),
  'opq/sub': 'dir 0755 0:0',
  'opq/sub/upper': b('0644', 5),
  'replace-me': b('0644', 10),
  tmp: 'dir 1777 0:0',
  usr: 'dir 0755 0:0',
  'usr/lib': 'dir 0755 0:0',
  'usr/lib/libx.so': b('0644', 3),
};

function tsrun(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '--root', stateRoot, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let layout = '';
let archive = '';

beforeAll(() => {
  if (!isRoot) return;
  mkdirSync(stateRoot);
  layout = join(T, 'layout');
  writeOciLayout(layout, [image, other]);
  archive = join(T, 'image.tar');
  writeFileSync(archive, dockerArchive([image, other]));
});

afterAll(() => {
  if (!isRoot) return;
  const left = existsSync(stateRoot) ? readdirSync(stateRoot) : [];
  rmSync(T, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot)('tsrun bundle import', () => {
  for (const kind of ['oci-layout', 'docker-archive'] as const) {
    it(`${kind}: exact rootfs, config.json, and the bundle runs`, () => {
      const bundle = join(T, `bundle-${kind}`);
      const src = kind === 'oci-layout' ? layout : archive;
      const r = tsrun(['bundle', 'import', `${src}:demo:v1`, bundle]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`imported example.com/tsrun/demo:v1 (2 layers) into ${bundle}\n`);
      expect(readdirSync(bundle).sort()).toEqual(['config.json', 'rootfs']);
      expect(snapshot(join(bundle, 'rootfs'))).toEqual(EXPECTED);
      expect(readFileSync(join(bundle, 'rootfs/usr/lib/libx.so'), 'utf8')).toBe('elf');
      // mtimes from the tar, directories' set after their children were written
      for (const p of ['etc/motd', 'data', 'opq', 'bin', 'dev/null']) expect(statSync(join(bundle, 'rootfs', p)).mtime).toEqual(MTIME);
      expect(lstatSync(join(bundle, 'rootfs/data/motd')).mtime).toEqual(MTIME);

      const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
      expect(cfg.process).toMatchObject({
        terminal: false,
        args: ['/bin/sh', '-c', CONFIG.Cmd[0]],
        env: ['GREETING=hi', 'PATH=/bin'],
        cwd: '/data',
        user: { uid: 1000, gid: 1000, additionalGids: [50] },
      });
      expect(cfg.root).toEqual({ path: 'rootfs', readonly: false });
      expect(cfg.annotations).toEqual({
        'org.example.team': 'tsrun',
        'org.opencontainers.image.exposedPorts': '80/tcp,53/udp',
        'org.opencontainers.image.ref.name': 'example.com/tsrun/demo:v1',
        'org.opencontainers.image.os': 'linux',
        'org.opencontainers.image.architecture': 'amd64',
      });

      const run = tsrun(['run', bundle]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('hello from layer 2\n1000\n1000\n1000 50\n/data\nhi\ndev-ok\n');
      expect(run.code).toBe(0);
    });
  }

  it('several images and no tag: an error listing the tags, no bundle', () => {
    const bundle = join(T, 'bundle-ambiguous');
    const r = tsrun(['bundle', 'import', archive, bundle]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('holds 2 images, say which one as');
    expect(r.stderr).toContain('tags: example.com/tsrun/demo:v1; example.com/tsrun/other:v2');
    expect(existsSync(bundle)).toBe(false);
    expect(readdirSync(T).filter((n) => n.includes('.import-'))).toEqual([]);
  });

  it('an unknown tag names the tags there are', () => {
    const r = tsrun(['bundle', 'import', `${layout}:nope`, join(T, 'bundle-nope')]);
    expect(r.stderr).toMatch(/no image tagged "nope"; tags: example\.com\/tsrun\/demo:v1; example\.com\/tsrun\/other:v2/);
    expect(existsSync(join(T, 'bundle-nope'))).toBe(false);
  });
});
