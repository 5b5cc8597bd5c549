import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trackSession } from './leak-check.js';

// Bundles and CLI runs for the runtime's integration tests. A bundle is a temp
// dir holding a config.json derived from bundles/busybox/config.json; its
// root.path points at the shared busybox rootfs by absolute path, which is
// never copied and never written (root.readonly stays true unless a test says
// otherwise, and then it must not write to "/").

export const REPO = resolve(import.meta.dirname, '../..');
/** The compiled CLI; TSRUN_CLI points the tests at another build (e.g. while debugging). */
export const CLI = process.env.TSRUN_CLI ?? join(REPO, 'dist/cli/main.js');
export const ROOTFS = join(REPO, 'bundles/busybox/rootfs');
export const isRoot = process.getuid?.() === 0;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Config = any;

export function baseConfig(): Config {
  const cfg = JSON.parse(readFileSync(join(REPO, 'bundles/busybox/config.json'), 'utf8')) as Config;
  cfg.root = { path: ROOTFS, readonly: true };
  return cfg;
}

/** A per-file scratch area under os.tmpdir(): state root, bundles, bind sources. */
export class Scratch {
  readonly dir: string;
  readonly root: string;
  private n = 0;

  constructor(tag: string) {
    this.dir = mkdtempSync(join(tmpdir(), `tsrun-${tag}-`));
    this.root = join(this.dir, 'state');
    mkdirSync(this.root);
    outputDir = join(this.dir, 'out');
    mkdirSync(outputDir);
  }

  /** A new bundle dir whose config is the busybox one with `args` and `edit` applied. */
  bundle(args?: string[], edit?: (cfg: Config) => void): string {
    const cfg = baseConfig();
    if (args) cfg.process.args = args;
    edit?.(cfg);
    return this.rawBundle(JSON.stringify(cfg, null, 2));
  }

  /** A bundle dir with exactly this config.json text (or none, for `undefined`). */
  rawBundle(configText: string | undefined): string {
    const dir = join(this.dir, `bundle-${++this.n}`);
    mkdirSync(dir);
    if (configText !== undefined) writeFileSync(join(dir, 'config.json'), configText);
    return dir;
  }

  /** A fresh directory (e.g. a bind-mount source). */
  mkdir(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOpts {
  timeoutMs?: number;
  /** fds of this process to pass to the CLI as its fds 3, 4, … (to check they do not leak) */
  extraFds?: number[];
}

// Where tsrun() captures output: files, not pipes. A created or detached
// container inherits the CLI's stdio, and a pipe it holds would keep
// spawnSync waiting until the container exits.
// Scratch sets it to a dir of its own; without one, a temp dir is made on first use.
let outputDir: string | undefined;
let outputs = 0;

/**
 * Runs the compiled CLI synchronously with `--root root`. Each run gets a
 * session of its own (detached) so the leak check can tell our processes apart.
 */
export function tsrun(root: string, args: string[], o: RunOpts = {}): Result {
  outputDir ??= mkdtempSync(join(tmpdir(), 'tsrun-test-out-'));
  const n = ++outputs;
  const files = [join(outputDir, `${n}.out`), join(outputDir, `${n}.err`)];
  const fds = files.map((f) => openSync(f, 'w+'));
  let r;
  try {
    r = spawnSync(process.execPath, [CLI, '--root', root, ...args], {
      timeout: o.timeoutMs ?? 30_000,
      stdio: ['ignore', fds[0]!, fds[1]!, ...(o.extraFds ?? [])],
      detached: true,
    } as Parameters<typeof spawnSync>[2]);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  trackSession(r.pid);
  const [stdout, stderr] = files.map((f) => readFileSync(f, 'utf8'));
  return { code: r.status, signal: r.signal, stdout: stdout!, stderr: stderr! };
}

/** Starts the CLI in the background; `done` resolves when it exits. */
export function tsrunAsync(root: string, args: string[]): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [CLI, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  trackSession(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Result>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

/** `tsrun run -b bundle id` with the container's output; fails loudly with stderr on a non-zero exit. */
export function runOk(root: string, bundle: string, id: string): string {
  const r = tsrun(root, ['run', '-b', bundle, id]);
  if (r.code !== 0) throw new Error(`tsrun run ${id} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

/** Parses `tsrun state ID`; undefined when the command fails. */
export function stateOf(root: string, id: string): { status: string; pid: number; id: string; bundle: string } | undefined {
  const r = tsrun(root, ['state', id]);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** Waits until `cond()` holds, polling; throws with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `key=value` lines of a container's output as a map (later keys win). */
export function keyValues(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return kv;
}
