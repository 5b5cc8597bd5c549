import { createRequire } from 'node:module';
import type { Hook } from '../spec/types.js';
import { checkHookOutcome, explainHook, hookRequest, type HookPhase, type OciState } from './outcome.js';

/** node:child_process, loaded with the first hook: it costs every `create` a few ms and 2 MB otherwise. */
let childProcess: typeof import('node:child_process') | undefined;
const spawnSync = (): typeof import('node:child_process').spawnSync =>
  (childProcess ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')).spawnSync;

// The init's hook runner (createContainer, startContainer): synchronous,
// because the init must not start libuv's threadpool after unsharing.

/** `inContainer`: after pivot_root (startContainer): the hook's path resolves in the container. */
export function runHooksSync(phase: HookPhase, hooks: Hook[] | undefined, state: OciState, opts: { inContainer?: boolean } = {}): void {
  const inContainer = opts.inContainer ?? false;
  for (const [i, hook] of (hooks ?? []).entries()) {
    const req = hookRequest(hook, state, inContainer);
    const r = spawnSync()(req.path, req.args, {
      argv0: req.argv0,
      env: req.env,
      input: req.input,
      timeout: req.timeoutMs,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
    });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    const timedOut = code === 'ETIMEDOUT';
    // A hook may exit without reading the state on its stdin: the write's EPIPE is no error of the hook's.
    const ran = code === 'EPIPE' && (r.status !== null || r.signal !== null);
    const outcome = {
      exitCode: r.status,
      signal: r.signal,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      timedOut,
      spawnError: r.error && !timedOut && !ran ? r.error : undefined,
    };
    explainHook(phase, i, hook, state, outcome);
    checkHookOutcome(phase, i, hook, outcome, inContainer);
  }
}
