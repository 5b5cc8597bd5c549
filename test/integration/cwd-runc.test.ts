import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, type Runtime } from '../helpers/differential.js';

// process.cwd is entered as root before the user changes (runc's order), so
// a directory the user may not enter still works; a missing one fails.

const d = new Differential('cwdrc');
afterAll(() => expect(d.finish()).toEqual([]));

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];

const privateCwd = (extra?: (c: Config) => void) => (c: Config) => {
  c.process.user = { uid: 1000, gid: 1000 };
  c.process.cwd = '/mnt/private';
  // A new directory for the 0700 tmpfs: runc gives a tmpfs on an existing directory that directory's mode.
  c.mounts.push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] });
  c.mounts.push({ destination: '/mnt/private', type: 'tmpfs', source: 'tmpfs', options: ['mode=700'] });
  extra?.(c);
};

describe('process.cwd the user cannot enter', () => {
  for (const [label, extra] of [
    ['through the stage', undefined],
    ['through the Node init (user namespace)', (c: Config) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 260000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 260000, size: 65536 }];
    }],
  ] as const) {
    it(`the process starts there as its user (${label}); runc alike`, () => {
      const name = extra ? 'userns' : 'stage';
      const out: Partial<Record<Runtime, string>> = {};
      for (const rt of runtimes) {
        const b = d.bundle(rt, name, ['sh', '-c', 'pwd; id -u; ls . 2>/dev/null || echo not-listable'], privateCwd(extra));
        const r = d.run(rt, ['run', '-b', b, d.id(rt, name)]);
        expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
        out[rt] = r.stdout;
      }
      expect(out.tsrun).toBe('/mnt/private\n1000\nnot-listable\n');
      if (out.runc !== undefined) expect(out.tsrun).toBe(out.runc);
    });
  }

  it('a cwd that does not exist still fails create', () => {
    const b = d.bundle('tsrun', 'missing', ['true'], (c: Config) => {
      c.process.cwd = '/no/such/dir';
    });
    const r = d.run('tsrun', ['run', '-b', b, d.id('tsrun', 'missing')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('chdir to cwd ("/no/such/dir") set in config.json failed: no such file or directory');
  });
});
