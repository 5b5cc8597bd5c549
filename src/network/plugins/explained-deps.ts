import { emit } from '../../explain/events.js';
import { ExplainedNetlinkOpener } from '../rtnetlink/explained.js';
import type { Iptables, IptablesOutcome } from './iptables.js';
import type { PluginDeps } from './skel.js';

// --explain for the built-in plugins: their kernel effects (rtnetlink
// requests, iptables batches, sysctl writes) as one readable line each, with
// the plugin as the reason. Wrappers over any PluginDeps, real or fake, made
// per plugin call and only while explaining.

const binary = (family: 4 | 6, restore = false): string => `${family === 4 ? 'iptables' : 'ip6tables'}${restore ? '-restore' : ''}`;
const outcome = (r: IptablesOutcome): string => (r.code === 0 ? 'ok' : `exit ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}`);

/** "iptables-restore -w --noflush: 2 rules: *nat ; :CNI-1 - [0:0] ; -A CNI-1 -d 10.0.0.0/24 -j ACCEPT ; …" */
export function describeRestore(family: 4 | 6, text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'COMMIT');
  const rules = lines.filter((l) => !l.startsWith('*') && !l.startsWith(':') && !l.startsWith('-N ')); // not the table headers or chain creations
  return `${binary(family, true)} -w --noflush: ${rules.length} rules: ${lines.join(' ; ')}`;
}

class ExplainedIptables implements Iptables {
  readonly base: Iptables;
  constructor(
    private readonly inner: Iptables,
    private readonly why: string,
  ) {
    this.base = inner.base ?? inner;
  }
  async run(family: 4 | 6, args: string[]): Promise<IptablesOutcome> {
    return this.report(`${binary(family)} -w ${args.join(' ')}`, () => this.inner.run(family, args));
  }
  async restore(family: 4 | 6, text: string): Promise<IptablesOutcome> {
    return this.report(describeRestore(family, text), () => this.inner.restore(family, text));
  }
  async save(family: 4 | 6): Promise<IptablesOutcome> {
    return this.report(`${binary(family)}-save`, () => this.inner.save(family));
  }
  private async report(call: string, fn: () => Promise<IptablesOutcome>): Promise<IptablesOutcome> {
    try {
      const r = await fn();
      emit('net', call, outcome(r), this.why);
      return r;
    } catch (err) {
      emit('net', call, err instanceof Error ? err.message : String(err), this.why);
      throw err;
    }
  }
}

/** `deps` with every kernel effect reported to --explain, `why` (the plugin) as the reason. */
export function explainedDeps(deps: PluginDeps, why: string): PluginDeps {
  return {
    ...deps,
    netlink: new ExplainedNetlinkOpener(deps.netlink, why),
    iptables: new ExplainedIptables(deps.iptables, why),
    sysctl(netns, key, value) {
      const call = `sysctl ${key}=${value}${netns ? ` [netns ${netns}]` : ''}`;
      try {
        deps.sysctl(netns, key, value);
      } catch (err) {
        emit('net', call, (err as { errno?: string; code?: string }).errno ?? (err as { code?: string }).code ?? 'error', why);
        throw err;
      }
      emit('net', call, 'ok', why);
    },
  };
}
