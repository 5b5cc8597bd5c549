import { TsrunError } from '../../errors.js';
import type { PluginExec, PluginOutcome } from './exec.js';

// A scriptable PluginExec for tests (libcni's fakes.RawExec): it records every
// call and answers with what the test's handler returns. Replies go through
// the same decoding as real plugin output.

export interface RecordedCall {
  type: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

export type FakeHandler = (call: RecordedCall) => PluginOutcome | Promise<PluginOutcome>;

export class FakePluginExec implements PluginExec {
  readonly calls: RecordedCall[] = [];
  constructor(private readonly handlers: Record<string, FakeHandler>) {}

  findInPath(type: string, paths: string[]): string {
    if (!(type in this.handlers)) {
      throw new TsrunError('CNI_PLUGIN', `failed to find plugin "${type}" in path [${paths.join(' ')}]`);
    }
    return `/fake/${type}`;
  }

  async run(pluginPath: string, stdin: string, env: Record<string, string>): Promise<PluginOutcome> {
    const type = pluginPath.slice('/fake/'.length);
    const call: RecordedCall = { type, command: env.CNI_COMMAND ?? '', env, stdin: JSON.parse(stdin) as Record<string, unknown> };
    this.calls.push(call);
    return this.handlers[type]!(call);
  }
}

/** Helpers for handlers: a success printing `json`, or a CNI error. */
export const reply = {
  ok: (json?: unknown): PluginOutcome => ({ exitCode: 0, stdout: json === undefined ? '' : JSON.stringify(json), stderr: '' }),
  error: (code: number, msg: string, details?: string): PluginOutcome => ({
    exitCode: 1,
    stdout: JSON.stringify({ cniVersion: '1.0.0', code, msg, ...(details ? { details } : {}) }),
    stderr: '',
  }),
};
