import type { PluginExec, PluginOutcome } from '../cni/exec.js';
import { explaining } from '../../explain/events.js';
import { explainedDeps } from './explained-deps.js';
import { currentBatch, inBatch, IptablesBatch, outsideBatch } from './iptables-batch.js';
import { deleteFast } from './iptables-plan.js';
import { cniError } from './errors.js';
import { isBuiltin } from './registry.js';
import { cniErrorJson, requestFromEnv, runBuiltin, type RunCommand } from './run.js';
import type { PluginDeps } from './skel.js';

// A PluginExec that runs the built-in plugin types in this process (no exec:
// the fast path) and hands every other type to the exec it wraps. Replies take
// the same shape as a plugin process's, so the CNI client treats both alike.

const PREFIX = 'builtin:';

export interface InProcessOptions {
  /** exec the real binaries even for built-in types (differential tests) */
  forceExec?: boolean;
  /** deps for the plugins; real ones are made on first use */
  deps?: PluginDeps | (() => Promise<PluginDeps>);
}

export class InProcessPluginExec implements PluginExec {
  private deps?: Promise<PluginDeps>;

  constructor(
    private readonly fallback: PluginExec,
    private readonly opts: InProcessOptions = {},
  ) {}

  findInPath(type: string, paths: string[]): string {
    if (!this.opts.forceExec && isBuiltin(type)) return `${PREFIX}${type}`;
    return this.fallback.findInPath(type, paths);
  }

  async run(pluginPath: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<PluginOutcome> {
    if (!pluginPath.startsWith(PREFIX)) return this.fallback.run(pluginPath, stdin, env, timeoutMs);
    const type = pluginPath.slice(PREFIX.length);
    let conf: Record<string, unknown>;
    try {
      conf = JSON.parse(stdin) as Record<string, unknown>;
    } catch (err) {
      return fail({ cniVersion: '1.0.0', code: 6, msg: `error parsing configuration: ${(err as Error).message}` });
    }
    const batch = currentBatch();
    if (batch) batch.owner = type; // a chain runs its plugins one after the other
    try {
      const deps = await this.pluginDeps();
      // The same reason the CNI client gives the plugin call itself (cni/invoke.ts).
      const why = `network "${String(conf.name)}": plugin type "${type}" ${env.CNI_COMMAND ?? ''}`.trim();
      const out = await runBuiltin(type, env.CNI_COMMAND as RunCommand, requestFromEnv(env, conf), explaining() ? explainedDeps(deps, why) : deps);
      return { exitCode: 0, stdout: out === undefined ? '' : JSON.stringify(out), stderr: '' };
    } catch (err) {
      return fail(cniErrorJson(err, String(conf.cniVersion ?? '1.0.0')));
    }
  }

  /** The iptables changes of the built-ins in `fn` in one restore per family, at the end (see iptables-batch.ts). */
  async batch<T>(command: 'ADD' | 'DEL', fn: () => Promise<T>): Promise<T> {
    const b = new IptablesBatch(command === 'ADD' ? 'add' : 'del', (d) => deleteFast(d.x, d.family, d.table, d.lines, d.plan));
    if (command === 'ADD') {
      const out = await inBatch(b, fn); // a failed ADD throws here: its held-back lines are dropped
      await outsideBatch(() => b.flushLines());
      return out;
    }
    let errors: string[] = [];
    try {
      return await inBatch(b, fn);
    } finally {
      // teardown goes on whatever failed: the deletions held back are applied in any case
      errors = await outsideBatch(() => b.flushDeletions());
      if (errors.length) throw cniError(`could not remove iptables rules: ${errors.join('; ')}`); // eslint-disable-line no-unsafe-finally
    }
  }

  private pluginDeps(): Promise<PluginDeps> {
    const d = this.opts.deps;
    if (d && typeof d !== 'function') return Promise.resolve(d);
    this.deps ??= d ? d() : import('./builtins.js').then((m) => m.realDeps({ forceExec: this.opts.forceExec }));
    return this.deps;
  }
}

const fail = (e: object): PluginOutcome => ({ exitCode: 1, stdout: JSON.stringify(e), stderr: '' });
