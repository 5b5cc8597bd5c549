import type { PluginExec, PluginOutcome } from '../cni/exec.js';
import { explaining } from '../../explain/events.js';
import { explainedDeps } from './explained-deps.js';
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

  private pluginDeps(): Promise<PluginDeps> {
    const d = this.opts.deps;
    if (d && typeof d !== 'function') return Promise.resolve(d);
    this.deps ??= d ? d() : import('./deps.js').then((m) => m.realDeps({ forceExec: this.opts.forceExec }));
    return this.deps;
  }
}

const fail = (e: object): PluginOutcome => ({ exitCode: 1, stdout: JSON.stringify(e), stderr: '' });
