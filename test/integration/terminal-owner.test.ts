import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, type Config } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, type Runtime } from '../helpers/differential.js';

// process.terminal: the pty belongs to the process's uid, its group stays the
// devpts mount's (gid=5 in the config), as runc does it,
// for `exec -t` and for a container with a user namespace (the Node init).
// Run under script(1), so the runtime has a terminal to relay.

const d = new Differential('ttyown');
afterAll(() => expect(d.finish()).toEqual([]));

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];
const hasScript = spawnSync('script', ['--version']).status === 0;

/** The runtime's command line run in a terminal (script -qec); its output. */
function inTerminal(rt: Runtime, args: string[]): { code: number | null; out: string } {
  const argv = rt === 'tsrun' ? [process.execPath, CLI, '--root', d.root(rt), ...args] : ['runc', '--root', d.root(rt), ...args];
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', quoted, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

const ownerOfTty = ['sh', '-c', 'stat -c owner=%u:%g $(tty)'];

describe.skipIf(!hasScript)('the pty is owned by the process\'s user', () => {
  it('exec -t --user 1000:1000: owner 1000, group the devpts tty group (5); runc alike', () => {
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'exec', ['sleep', '600']);
      expect(d.run(rt, ['run', '-d', '-b', b, d.id(rt, 'exec')]).code).toBe(0);
      const r = inTerminal(rt, ['exec', '-t', '--user', '1000:1000', d.id(rt, 'exec'), ...ownerOfTty]);
      expect(r.code, `${rt}: ${r.out}`).toBe(0);
      expect(r.out, rt).toContain('owner=1000:5');
      d.run(rt, ['delete', '--force', d.id(rt, 'exec')]);
    }
  });

  it('a container with a user namespace, user 1000: owner 1000, group the devpts tty group (5) inside; runc alike', () => {
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'userns', ownerOfTty, (c: Config) => {
        c.process.terminal = true;
        c.process.user = { uid: 1000, gid: 1000 };
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 230000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 230000, size: 65536 }];
      });
      const r = inTerminal(rt, ['run', '-b', b, d.id(rt, 'userns')]);
      expect(r.code, `${rt}: ${r.out}`).toBe(0);
      expect(r.out, rt).toContain('owner=1000:5');
    }
  });
});
