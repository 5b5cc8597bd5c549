import type { Hook } from '../spec/types.js';
import type { SpawnOutcome, SpawnRequest } from '../spawn-with-input.js';
import { TsrunError } from '../errors.js';
import { emit } from '../explain/events.js';
import { existsSync } from 'node:fs';

// What the async runner (runtime side) and the sync runner (inside the init)
// share: how a hook is started and how its outcome becomes an error.

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

import type { OciState } from '../spec/state.js';
export type { OciState } from '../spec/state.js';

// Node cannot give a child a parent-death signal; util-linux's setpriv can, so a
// hook dies with a runtime that was killed mid-create instead of running on.
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = existsSync(SETPRIV);

/**
 * How a hook is started. `inContainer`: the init runs it after pivot_root (startContainer), where the
 * host's setpriv is out of sight; there the hook is exec'd itself, as the C stage does (the init is
 * usually PID 1 of the container's pid namespace, so its death ends the hook too).
 */
export function hookRequest(hook: Hook, state: OciState, inContainer = false): SpawnRequest {
  const env = Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const args = (hook.args ?? []).slice(1);
  if (hasSetpriv && !inContainer) {
    // (setpriv execs the hook with its path as argv[0].)
    return { path: SETPRIV, args: ['--pdeathsig', 'KILL', '--', hook.path, ...args], env, input: JSON.stringify(state), timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined };
  }
  return {
    path: hook.path,
    args,
    argv0: hook.args?.[0],
    env,
    input: JSON.stringify(state),
    timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined,
  };
}

/** --explain: the hook as it was run, with the state it was given and how it ended. */
export function explainHook(phase: HookPhase, index: number, hook: Hook, state: OciState, r: SpawnOutcome): void {
  const result = r.timedOut ? 'timed out' : r.spawnError ? r.spawnError.message : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
  emit('hook', `${phase} hook: ${[hook.path, ...(hook.args ?? []).slice(1)].join(' ')} <<< state {id: ${state.id}, status: ${state.status}, pid: ${state.pid}}`, result, `hooks.${phase}[${index}]`);
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Why a hook could not be started, in words: "spawnSync /x ENOENT" does not say where /x was looked for. */
function spawnFailure(err: Error, path: string, inContainer: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  const text = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : undefined;
  if (!text) return err.message;
  if (!inContainer) return `cannot execute ${path}: ${text}`;
  return `cannot execute ${path} in the container: ${text} (startContainer hooks run in the container after pivot_root: the hook, and any interpreter on its #! line, must be in the container's root)`;
}

/** Throws an error naming the phase, index and path, with how it failed and its last output lines. */
export function checkHookOutcome(phase: HookPhase, index: number, hook: Hook, r: SpawnOutcome, inContainer = false): void {
  const what = `${phase} hook #${index} (${hook.path})`;
  if (r.timedOut) throw new TsrunError('HOOK_TIMEOUT', `error running ${what}: ran past its timeout of ${hook.timeout}s`);
  if (r.spawnError) throw new TsrunError('HOOK', `error running ${what}: ${spawnFailure(r.spawnError, hook.path, inContainer)}`);
  if (r.exitCode !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.exitCode}`;
    const out = lastLines(`${r.stdout}\n${r.stderr}`);
    throw new TsrunError('HOOK', `error running ${what}: ${how}${out ? `: ${out}` : ''}`);
  }
}
