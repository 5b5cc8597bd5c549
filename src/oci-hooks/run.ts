import type { Hook } from '../spec/types.js';
import { checkHookOutcome, explainHook, hookRequest, type HookPhase, type OciState } from './outcome.js';
import { explaining, forward, takeEvents } from '../explain/events.js';

// Runs OCI hooks from the runtime (prestart, createRuntime, poststart,
// poststop): the state as JSON on stdin, killed after `timeout` seconds.

export type { HookPhase, OciState } from './outcome.js';

export async function runHook(phase: HookPhase, index: number, hook: Hook, state: OciState): Promise<void> {
  // loaded with the first hook: node:child_process costs a few ms to load
  const { spawnWithInput } = await import('../spawn-with-input.js');
  const outcome = await spawnWithInput(hookRequest(hook, state));
  if (explaining()) {
    // A tsrun hook run with --explain=json reported its own calls: show them in order, before the hook's line.
    const { events, rest } = takeEvents(outcome.stderr);
    events.forEach(forward);
    outcome.stderr = rest;
  }
  explainHook(phase, index, hook, state, outcome);
  checkHookOutcome(phase, index, hook, outcome);
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
