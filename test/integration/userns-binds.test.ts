import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, type Runtime } from '../helpers/differential.js';

// A container with a user namespace, bind-mounting a host directory that its
// mapped root cannot reach by path (a 0700 parent owned by the host's root),
// followed by a cgroupfs mount: the runtime clones the source on the host and
// the container gets it, read-only as asked; runc alike.

const d = new Differential('usbind');
afterAll(() => expect(d.finish()).toEqual([]));

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];

describe('user namespaces: bind mounts of host paths the mapped root cannot reach', () => {
  it('the bind mount works (read-only as asked), and a cgroup mount after it too; runc alike', () => {
    // The scratch dir is 0700 root: the mapped root (250000) cannot walk through it.
    chmodSync(d.scratch.dir, 0o700);
    const parent = d.scratch.mkdir('closed');
    chmodSync(parent, 0o700);
    const shared = join(parent, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    writeFileSync(join(shared, 'f'), 'through the clone\n', { mode: 0o644 });
    const out: Partial<Record<Runtime, string>> = {};
    for (const rt of runtimes) {
      const b = d.bundle(rt, 'bind', ['sh', '-c', 'cat /mnt/f; touch /mnt/new 2>/dev/null && echo writable || echo read-only; test -n "$(ls /sys/fs/cgroup)" && echo cgroup-ok'], (c: Config) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 250000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 250000, size: 65536 }];
        c.mounts.push({ destination: '/mnt', type: 'bind', source: shared, options: ['rbind', 'ro'] });
        c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
      });
      const r = d.run(rt, ['run', '-b', b, d.id(rt, 'bind')]);
      expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
      out[rt] = r.stdout;
    }
    expect(out.tsrun).toBe('through the clone\nread-only\ncgroup-ok\n');
    if (out.runc !== undefined) expect(out.tsrun).toBe(out.runc);
  });
});
