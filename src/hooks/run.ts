import { execa } from 'execa';
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
  const result = await execa(hook.path, (hook.args ?? []).slice(1), {
    argv0: hook.args?.[0],
    env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    extendEnv: false,
    input: JSON.stringify(state),
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    reject: false,
    all: true,
  });
  if (result.timedOut) {
    throw new TsrunError('HOOK_TIMEOUT', `error running ${what}: ran past its timeout of ${hook.timeout}s`);
  }
  if (result.failed) {
    const how = result.signal ? `killed by ${result.signal}` : result.exitCode !== undefined ? `exit status ${result.exitCode}` : result.message;
    const out = lastLines(String(result.all ?? ''));
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
