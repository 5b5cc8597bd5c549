import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnWithInput } from '../../spawn-with-input.js';
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
  /**
   * Runs a chain's ADD or DEL (`fn`) so that side effects of its plugins can
   * be applied together at the end (the in-process plugins' iptables rules:
   * one restore per family instead of one per plugin). Rejects if applying
   * them fails; after a failed ADD, nothing held back is applied.
   */
  batch?<T>(command: 'ADD' | 'DEL', fn: () => Promise<T>): Promise<T>;
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

  async run(pluginPath: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<PluginOutcome> {
    const o = await spawnWithInput({ path: pluginPath, env: { ...process.env, ...env } as Record<string, string>, input: stdin, timeoutMs });
    if (o.spawnError) throw new TsrunError('CNI_PLUGIN', `exec ${pluginPath}: ${o.spawnError.message}`);
    return { exitCode: o.exitCode, stdout: o.stdout, stderr: o.stderr, timedOut: o.timedOut || undefined };
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
