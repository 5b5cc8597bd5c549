import { spawn } from 'node:child_process';

// Runs a program with JSON on stdin and a timeout, collecting its output.
// Shared by OCI hooks and CNI plugin execs. node:child_process rather than
// execa: importing execa costs ~100 ms per tsrun process (measured).

export interface SpawnRequest {
  path: string;
  args?: string[];
  argv0?: string;
  env: Record<string, string>;
  input: string;
  timeoutMs?: number;
}

export interface SpawnOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** set when the program could not be started at all (ENOENT, EACCES) */
  spawnError?: Error;
}

export function spawnWithInput(req: SpawnRequest): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    const child = spawn(req.path, req.args ?? [], { argv0: req.argv0, env: req.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const text = (b: Buffer[]): string => Buffer.concat(b).toString('utf8');
    // On timeout, answer at once: a grandchild may still hold the pipes open.
    const timer = req.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          resolve({ exitCode: null, signal: 'SIGKILL', stdout: text(out), stderr: text(err), timedOut: true });
        }, req.timeoutMs)
      : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the program may exit without reading stdin
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, spawnError: e });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code, signal, stdout: text(out), stderr: text(err), timedOut: false });
    });
    child.stdin.end(req.input);
  });
}
