import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { TsrunError } from '../../errors.js';

// How a plugin is found and run. Injectable (libcni's invoke.Exec): the real
// one spawns the binary, the fake in fake-exec.ts scripts replies for tests.

export const DEFAULT_CNI_PATH = ['/opt/cni/bin', '/usr/lib/cni'];
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What a plugin process did: its exit code (null when killed) and its output. */
export interface PluginOutcome {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

export interface PluginExec {
  /** The plugin binary's path, or a CNI_PLUGIN error naming the plugin and the search path. */
  findInPath(type: string, paths: string[]): string;
  run(pluginPath: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<PluginOutcome>;
}

export class RealPluginExec implements PluginExec {
  findInPath(type: string, paths: string[]): string {
    if (type.includes('/')) throw new TsrunError('CNI_CONFIG', `plugin type "${type}" must be a name, not a path`);
    for (const dir of paths) {
      const candidate = join(dir, type);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
    throw new TsrunError('CNI_PLUGIN', `failed to find plugin "${type}" in path [${paths.join(' ')}]`, {
      hint: 'install the plugin or pass --cni-path',
    });
  }

  // node:child_process rather than execa here: importing execa costs ~100 ms per
  // tsrun process (measured), a plugin exec needs only stdin, env, output and a
  // timeout, and `tsrun net add` should cost little more than the plugins.
  run(pluginPath: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<PluginOutcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(pluginPath, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // On timeout, answer at once: a grandchild may still hold the pipes open.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ exitCode: null, stdout: '', stderr: '', timedOut: true });
      }, timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.stdin.on('error', () => {}); // a plugin may exit without reading stdin
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new TsrunError('CNI_PLUGIN', `exec ${pluginPath}: ${e.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.end(stdin);
    });
  }
}

/** A CNI error object as plugins print it on failure. */
export interface CniErrorJson {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

function asCniError(text: string): CniErrorJson | undefined {
  try {
    const j = JSON.parse(text) as Partial<CniErrorJson>;
    if (typeof j === 'object' && j !== null && typeof j.code === 'number' && typeof j.msg === 'string') return j as CniErrorJson;
  } catch {
    // not JSON: handled by the caller
  }
  return undefined;
}

/**
 * Turns a plugin run into its stdout JSON (success) or a TsrunError that keeps
 * the plugin's CNI code. Garbage on success is an error too: a plugin must print JSON.
 */
export function decodeOutcome(o: PluginOutcome, timeoutMs: number): unknown {
  if (o.timedOut) throw new TsrunError('CNI_PLUGIN', `timed out after ${timeoutMs} ms`);
  if (o.exitCode !== 0) {
    const e = asCniError(o.stdout);
    if (e) {
      const details = e.details ? `; ${e.details}` : '';
      throw new TsrunError('CNI_PLUGIN', `${e.msg}${details}`, { cniCode: e.code });
    }
    const said = (o.stderr.trim() || o.stdout.trim()).slice(0, 2000);
    const how = o.exitCode === null ? 'was killed' : `exited with status ${o.exitCode}`;
    throw new TsrunError('CNI_PLUGIN', said ? `netplugin failed: ${JSON.stringify(said)} (${how})` : `netplugin failed with no error message (${how})`);
  }
  if (o.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(o.stdout);
  } catch {
    throw new TsrunError('CNI_PLUGIN', `plugin printed output that is not JSON: ${JSON.stringify(o.stdout.slice(0, 200))}`);
  }
}
