import { spawnWithInput } from '../spawn-with-input.js';
import type { Hook } from '../spec/types.js';
import { TsrunError } from '../errors.js';

// Runs one OCI hook: the container state as JSON on stdin, its own args and
// env, killed after `timeout` seconds. Errors say which hook and why.

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

export async function runHook(phase: HookPhase, index: number, hook: Hook, state: OciState): Promise<void> {
  const what = `${phase} hook #${index} (${hook.path})`;
  const env = Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const r = await spawnWithInput({
    path: hook.path,
    args: (hook.args ?? []).slice(1),
    argv0: hook.args?.[0],
    env,
    input: JSON.stringify(state),
    timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined,
  });
  if (r.timedOut) throw new TsrunError('HOOK_TIMEOUT', `error running ${what}: ran past its timeout of ${hook.timeout}s`);
  if (r.spawnError) throw new TsrunError('HOOK', `error running ${what}: ${r.spawnError.message}`);
  if (r.exitCode !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.exitCode}`;
    const out = lastLines(`${r.stdout}\n${r.stderr}`);
    throw new TsrunError('HOOK', `error running ${what}: ${how}${out ? `: ${out}` : ''}`);
  }
}

/** Runs every hook of a phase in order; the first failure stops the phase. */
export async function runHooks(phase: HookPhase, hooks: Hook[] | undefined, state: OciState): Promise<void> {
  for (const [i, h] of (hooks ?? []).entries()) await runHook(phase, i, h, state);
}

/** poststop: failures only warn, and the rest still run. */
export async function runHooksWarnOnly(phase: HookPhase, hooks: Hook[] | undefined, state: OciState, warn: (m: string) => void): Promise<void> {
  for (const [i, h] of (hooks ?? []).entries()) {
    try {
      await runHook(phase, i, h, state);
    } catch (err) {
      warn(err instanceof Error ? err.message : String(err));
    }
  }
}
