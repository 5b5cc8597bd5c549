import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../helpers/bundle.js';
import { waitFor } from '../helpers/bundle.js';
import { Differential, RUNTIMES, hasRunc, status, type Runtime } from '../helpers/differential.js';

// create/run --preserve-fds N: fds 3 … 3+N-1 of the runtime go on to the
// container's process at the same numbers (runc's contract), through the C
// stage and through the Node init (user namespaces).

const d = new Differential('pfds');
afterAll(() => expect(d.finish()).toEqual([]));

const runtimes: Runtime[] = hasRunc ? RUNTIMES : ['tsrun'];

/** Files opened for writing, one per fd to pass; returns their paths and fds. */
function openOutputs(rt: string, name: string, n: number): { paths: string[]; fds: number[] } {
  const paths = Array.from({ length: n }, (_, i) => join(d.scratch.dir, `${name}-${rt}-${i}.txt`));
  for (const p of paths) writeFileSync(p, '');
  return { paths, fds: paths.map((p) => openSync(p, 'w')) };
}

const userns = (c: Config) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 220000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 220000, size: 65536 }];
};

describe('--preserve-fds for create and run', () => {
  it('run --preserve-fds 2: the process writes to fds 3 and 4, and has no other fd of the runtime; runc alike', () => {
    const fdsSeen: Partial<Record<Runtime, string>> = {};
    for (const rt of runtimes) {
      const { paths, fds } = openOutputs(rt, 'run', 2);
      const b = d.bundle(rt, 'run', ['sh', '-c', 'echo three >&3; echo four >&4; ls /proc/self/fd | tr "\\n" " "']);
      try {
        const r = d.run(rt, ['run', '--preserve-fds', '2', '-b', b, d.id(rt, 'run')], { extraFds: fds });
        expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
        fdsSeen[rt] = r.stdout;
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      expect(paths.map((p) => readFileSync(p, 'utf8')), rt).toEqual(['three\n', 'four\n']);
    }
    // 0-2, the two preserved fds, and ls's own directory fd.
    expect(fdsSeen.tsrun).toBe('0 1 2 3 4 5 ');
    if (fdsSeen.runc !== undefined) expect(fdsSeen.tsrun).toBe(fdsSeen.runc);
  });

  it('create --preserve-fds 1, then start: the process gets fd 3 after the create has exited; runc alike', async () => {
    for (const rt of runtimes) {
      const { paths, fds } = openOutputs(rt, 'create', 1);
      const b = d.bundle(rt, 'create', ['sh', '-c', 'echo from-create >&3']);
      try {
        const r = d.run(rt, ['create', '--preserve-fds', '1', '-b', b, d.id(rt, 'create')], { extraFds: fds });
        expect(r.code, `${rt}: ${r.stderr}`).toBe(0);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      expect(d.run(rt, ['start', d.id(rt, 'create')]).code).toBe(0);
      await waitFor(() => status(d, rt, d.id(rt, 'create')) === 'stopped', `${rt} container to stop`);
      expect(readFileSync(paths[0]!, 'utf8'), rt).toBe('from-create\n');
      d.run(rt, ['delete', d.id(rt, 'create')]);
    }
  });

  it('with a user namespace (the Node init) the fds go on too', () => {
    const { paths, fds } = openOutputs('tsrun', 'userns', 2);
    // The mapped root writes through the fds it was given, whatever the files' owner.
    const b = d.bundle('tsrun', 'userns', ['sh', '-c', 'echo three >&3; echo four >&4'], userns);
    try {
      const r = d.run('tsrun', ['run', '--preserve-fds', '2', '-b', b, d.id('tsrun', 'userns')], { extraFds: fds });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(['three\n', 'four\n']);
  });

  for (const [label, edit] of [['the stage', undefined], ['the Node init', userns]] as const) {
    it(`an execve that fails after start is still reported by start, not written to a preserved fd (${label})`, () => {
      const dir = d.scratch.mkdir(`bad-${label.replace(/ /g, '-')}`);
      chmodSync(d.scratch.dir, 0o755);
      writeFileSync(join(dir, 'bad'), 'not a program\n');
      chmodSync(join(dir, 'bad'), 0o755);
      const name = `bad${edit ? 'u' : 's'}`;
      const { paths, fds } = openOutputs('tsrun', name, 1);
      const b = d.bundle('tsrun', name, ['/mnt/bad'], (c: Config) => {
        c.mounts.push({ destination: '/mnt', type: 'bind', source: dir, options: ['rbind', 'ro'] });
        edit?.(c);
      });
      try {
        const r = d.run('tsrun', ['create', '--preserve-fds', '1', '-b', b, d.id('tsrun', name)], { extraFds: fds });
        expect(r.code, r.stderr).toBe(0);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      const start = d.run('tsrun', ['start', d.id('tsrun', name)]);
      expect(start.code).not.toBe(0);
      expect(start.stderr).toMatch(/exec.*\/mnt\/bad.*exec format error/i);
      expect(readFileSync(paths[0]!, 'utf8')).toBe('');
      d.run('tsrun', ['delete', '--force', d.id('tsrun', name)]);
    });
  }

  it('a negative --preserve-fds fails before anything starts', () => {
    const b = d.bundle('tsrun', 'negative', ['true']);
    const r = d.run('tsrun', ['create', '--preserve-fds', '-1', '-b', b, d.id('tsrun', 'negative')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('invalid value for preserve-fds: expected 0 or more, got -1');
    expect(d.run('tsrun', ['list', '-q']).stdout.trim()).toBe('');
  });
});
