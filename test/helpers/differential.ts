import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, Scratch, type Config, type Result } from './bundle.js';
import { killLeftovers, leaks, trackSession } from './leak-check.js';

// Differential tests: the same bundle and the same command line given to
// tsrun and to Debian's runc, each with a state root of its own, so a test can
// compare exit codes, output and effects. Output goes to files (a detached
// container inherits the CLI's stdio, and a pipe would keep spawnSync waiting).

export type Runtime = 'tsrun' | 'runc';
export const RUNTIMES: Runtime[] = ['tsrun', 'runc'];
export const hasRunc = spawnSync('sh', ['-c', 'command -v runc'], { stdio: 'ignore' }).status === 0;

export interface DiffRunOpts {
  /** text on the CLI's stdin */
  input?: string;
  /** fds of this process to give the CLI as its fds 3, 4, … */
  extraFds?: number[];
}

export class Differential {
  readonly scratch: Scratch;
  private n = 0;
  /** cgroup directories made by tests, removed (deepest first) by cleanup() */
  private cgroups: string[] = [];
  private ids = new Set<string>();

  constructor(readonly tag: string) {
    this.scratch = new Scratch(tag);
    for (const rt of RUNTIMES) mkdirSync(this.root(rt), { recursive: true });
  }

  root(rt: Runtime): string {
    return join(this.scratch.dir, `root-${rt}`);
  }

  /** The container id each runtime uses for `name` (distinct, so their cgroups never meet). */
  id(rt: Runtime, name: string): string {
    const id = `${this.tag}-${name}-${rt === 'tsrun' ? 't' : 'r'}`;
    this.ids.add(`${rt}\0${id}`);
    return id;
  }

  /** /sys/fs/cgroup/<controller>/<tag>-<name>-<t|r>: the cgroup each runtime's container gets. */
  cgroupDir(rt: Runtime, name: string, controller: string): string {
    return `/sys/fs/cgroup/${controller}/${this.id(rt, name)}`;
  }

  /** A bundle per runtime: the busybox config with `args`, its cgroup at /<id> in every hierarchy. */
  bundle(rt: Runtime, name: string, args: string[], edit?: (cfg: Config) => void): string {
    return this.scratch.bundle(args, (cfg) => {
      cfg.linux.cgroupsPath = `/${this.id(rt, name)}`;
      edit?.(cfg);
    });
  }

  run(rt: Runtime, args: string[], o: DiffRunOpts = {}): Result {
    const n = ++this.n;
    const files = ['out', 'err'].map((k) => join(this.scratch.dir, `${rt}-${n}.${k}`));
    const fds = files.map((f) => openSync(f, 'w+'));
    let stdin: number | 'ignore' = 'ignore';
    if (o.input !== undefined) {
      const inFile = join(this.scratch.dir, `${rt}-${n}.in`);
      writeFileSync(inFile, o.input);
      stdin = openSync(inFile, 'r');
    }
    const [cmd, argv] = rt === 'tsrun' ? [process.execPath, [CLI, '--root', this.root(rt), ...args]] : ['runc', ['--root', this.root(rt), ...args]];
    let r;
    try {
      r = spawnSync(cmd, argv, { stdio: [stdin, fds[0]!, fds[1]!, ...(o.extraFds ?? [])], detached: true, timeout: 30_000 } as Parameters<typeof spawnSync>[2]);
    } finally {
      for (const fd of fds) closeSync(fd);
      if (typeof stdin === 'number') closeSync(stdin);
    }
    trackSession(r.pid);
    const [stdout, stderr] = files.map((f) => readFileSync(f, 'utf8'));
    return { code: r.status, signal: r.signal, stdout: stdout!, stderr: stderr! };
  }

  /** Starts the CLI in the background (for `events`): its output so far, and its exit. */
  start(rt: Runtime, args: string[]): { child: ChildProcess; out: () => string; done: Promise<number | null> } {
    const [cmd, argv] = rt === 'tsrun' ? [process.execPath, [CLI, '--root', this.root(rt), ...args]] : ['runc', ['--root', this.root(rt), ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    trackSession(child.pid);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr!.resume();
    const done = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    return { child, out: () => out, done };
  }

  /** The same command line (with `{id}` replaced by each runtime's id for `name`) to both. */
  both(name: string, args: string[], o: DiffRunOpts = {}): Record<Runtime, Result> {
    const out = {} as Record<Runtime, Result>;
    for (const rt of RUNTIMES) out[rt] = this.run(rt, args.map((a) => a.replace('{id}', this.id(rt, name))), o);
    return out;
  }

  /** A cgroup directory a test makes (sub-cgroups, pre-existing cgroups), removed at cleanup. */
  mkCgroup(dir: string): string {
    mkdirSync(dir, { recursive: true });
    this.cgroups.push(dir);
    return dir;
  }

  /** delete --force of every container of the file, then the test cgroups and the scratch dir. */
  cleanup(): void {
    for (const key of this.ids) {
      const [rt, id] = key.split('\0') as [Runtime, string];
      if (existsSync(join(this.root(rt), id))) this.run(rt, ['delete', '--force', id]);
    }
    for (const d of this.cgroups.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(d);
      } catch {
        // gone with its container
      }
    }
    this.scratch.remove();
  }

  /** cleanup(), then what tsrun left behind (processes, mounts, state), killed on the way: the file's last check. */
  finish(): string[] {
    this.cleanup();
    const left = leaks({ root: this.root('tsrun'), dirs: [] });
    killLeftovers();
    return left;
  }
}

/** A container's live status per `state`, or undefined when state fails. */
export function status(d: Differential, rt: Runtime, id: string): string | undefined {
  const r = d.run(rt, ['state', id]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : undefined;
}
