import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { specFromImage } from '../../src/image/config.js';
import { cleanEntryPath, resolveInRoot } from '../../src/image/paths.js';
import { pickImage, splitSource } from '../../src/image/reference.js';
import { resolveUser } from '../../src/image/user.js';

// The pure parts of the importer: entry-path cleaning and resolution, picking
// an image by tag, User → process.user, image config → config.json.

const T = mkdtempSync(join(tmpdir(), 'tsrun-image-cfg-'));
afterAll(() => rmSync(T, { recursive: true, force: true }));

const rootfs = join(T, 'rootfs');
mkdirSync(join(rootfs, 'etc'), { recursive: true });
mkdirSync(join(rootfs, 'usr/lib'), { recursive: true });
symlinkSync('usr/lib', join(rootfs, 'lib'));
symlinkSync('/etc', join(rootfs, 'abs'));
symlinkSync('../..', join(rootfs, 'usr/up2'));
writeFileSync(join(rootfs, 'etc/passwd'), '# users\nroot:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\nbad:x:notanumber:1::/:/\n');
writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nweb:x:33:\nwheel:x:10:web,other\nstaff:x:50:web\n');

describe('cleanEntryPath', () => {
  it.each([
    ['etc/passwd', ['etc', 'passwd']],
    ['./etc//passwd/', ['etc', 'passwd']],
    ['/etc/passwd', ['etc', 'passwd']],
    ['a/b/../c', ['a', 'c']],
    ['./', []],
  ])('%s → %j', (name, parts) => expect(cleanEntryPath(name)).toEqual(parts));

  it.each(['..', '../x', 'a/../../x', '/../x'])('%s escapes', (name) => {
    expect(() => cleanEntryPath(name)).toThrow(`entry "${name}": path escapes the rootfs`);
  });
});

describe('resolveInRoot', () => {
  it('follows a relative symlink that stays inside', () => {
    expect(resolveInRoot(rootfs, ['lib', 'x'], 'lib/x/y')).toBe(join(rootfs, 'usr/lib/x'));
  });
  it('keeps missing components as written', () => {
    expect(resolveInRoot(rootfs, ['new', 'dir'], 'new/dir/f')).toBe(join(rootfs, 'new/dir'));
  });
  it('refuses an absolute symlink on the way', () => {
    expect(() => resolveInRoot(rootfs, ['abs'], 'abs/passwd')).toThrow('entry "abs/passwd": its path goes through symlink "abs" -> "/etc"');
  });
  it('refuses a relative symlink that climbs above the root', () => {
    expect(() => resolveInRoot(rootfs, ['usr', 'up2', 'x'], 'usr/up2/x/f')).toThrow('a symlink in its path climbs above the rootfs');
  });
});

describe('pickImage', () => {
  const cands = [
    { tags: ['docker.io/library/busybox:latest'], value: 1 },
    { tags: ['example.com/app:1.0', 'example.com/app:stable'], value: 2 },
    { tags: ['other/app:1.0'], value: 3 },
  ];
  it.each([
    ['busybox', 1],
    ['busybox:latest', 1],
    ['latest', 1],
    ['docker.io/library/busybox:latest', 1],
    ['stable', 2],
    ['example.com/app:1.0', 2],
  ])('%s → image %d', (tag, value) => expect(pickImage(cands, tag, 'src').value).toBe(value));

  it('a tag two images share is ambiguous', () => {
    expect(() => pickImage(cands, '1.0', 'src')).toThrow('src: tag "1.0" matches 2 images: example.com/app:1.0, example.com/app:stable; other/app:1.0');
  });
  it('no tag among several lists them', () => {
    expect(() => pickImage(cands, undefined, 'src')).toThrow(/holds 3 images, say which one as src:TAG; tags: docker.io\/library\/busybox:latest; /);
  });
  it('the only image needs no tag, even untagged', () => {
    expect(pickImage([{ tags: [], value: 7 }], undefined, 'src')).toEqual({ value: 7, ref: undefined });
  });
});

describe('splitSource', () => {
  it('splits at the first ":" whose prefix exists', () => {
    writeFileSync(join(T, 'img.tar'), '');
    expect(splitSource(join(T, 'img.tar'))).toEqual({ path: join(T, 'img.tar') });
    expect(splitSource(`${join(T, 'img.tar')}:repo/app:v1`)).toEqual({ path: join(T, 'img.tar'), tag: 'repo/app:v1' });
    expect(() => splitSource(join(T, 'nope:tag'))).toThrow('no such file or directory');
  });
});

describe('resolveUser', () => {
  it.each([
    [undefined, { uid: 0, gid: 0 }],
    ['0', { uid: 0, gid: 0 }],
    ['1234', { uid: 1234, gid: 0 }],
    ['1234:99', { uid: 1234, gid: 99 }],
    ['33', { uid: 33, gid: 33, additionalGids: [10, 50] }],
    ['web', { uid: 33, gid: 33, additionalGids: [10, 50] }],
    ['web:wheel', { uid: 33, gid: 10 }],
    ['web:7', { uid: 33, gid: 7 }],
  ])('%s → %j', (user, want) => expect(resolveUser(rootfs, user)).toEqual(want));

  it('names missing from the image are errors', () => {
    expect(() => resolveUser(rootfs, 'nobody')).toThrow(`image config User "nobody": no user "nobody" in the image's /etc/passwd`);
    expect(() => resolveUser(rootfs, 'web:nogroup')).toThrow(`no group "nogroup" in the image's /etc/group`);
  });

  it('reads /etc/passwd through the rootfs, never through a symlink to the host', () => {
    const r2 = join(T, 'rootfs2');
    mkdirSync(r2);
    symlinkSync('/etc', join(r2, 'etc')); // the host's /etc has root (uid 0) but the image must not see it
    expect(() => resolveUser(r2, 'root')).toThrow('no user "root"');
  });
});

describe('specFromImage', () => {
  it('maps Entrypoint, Cmd, Env, WorkingDir, User, ports, labels', () => {
    const { spec, warnings } = specFromImage(
      {
        os: 'linux',
        config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], Env: ['A=1'], WorkingDir: 'srv', User: 'web', ExposedPorts: { '80/tcp': {} }, Labels: { k: 'v' }, StopSignal: 'SIGQUIT' },
      },
      rootfs,
      'nginx:1',
    );
    expect(warnings).toEqual([]);
    expect(spec.process).toMatchObject({
      terminal: false,
      args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1'],
      cwd: '/srv',
      user: { uid: 33, gid: 33, additionalGids: [10, 50] },
    });
    expect(spec.annotations).toEqual({
      k: 'v',
      'org.opencontainers.image.exposedPorts': '80/tcp',
      'org.opencontainers.image.stopSignal': 'SIGQUIT',
      'org.opencontainers.image.ref.name': 'nginx:1',
      'org.opencontainers.image.os': 'linux',
    });
    expect(spec.root).toEqual({ path: 'rootfs', readonly: false });
    expect(spec.linux?.namespaces?.map((n) => n.type)).toContain('mount');
  });

  it('no Entrypoint or Cmd: the default args, with a warning', () => {
    const { spec, warnings } = specFromImage({ config: { Cmd: null } }, rootfs, undefined);
    expect(spec.process?.args).toEqual(['sh']);
    expect(warnings).toEqual(['the image has no Entrypoint or Cmd: process.args is ["sh"]']);
    expect(spec.annotations).toBeUndefined();
  });
});
