import { readFileSync } from 'node:fs';
import { TsrunError } from '../../errors.js';
import { loadConfList } from '../../network/cni/conf.js';
import { HOOK_FLAGS, HOOK_USAGE, parseHookArgs } from '../../network/cni-hook/options.js';
import { setupNetwork } from '../../network/cni-hook/setup.js';
import { parseState, stageOf } from '../../network/cni-hook/state.js';
import { hookFilesDir } from '../../network/cni-hook/record.js';
import { teardownNetwork } from '../../network/cni-hook/teardown.js';
import { realSyscalls } from '../../sys/index.js';
import { traceSyscalls } from '../../sys/tracing.js';
import { fdSink, startExplaining } from '../../explain/events.js';
import type { Command } from '../command.js';

// tsrun hook cni: an OCI hook (for tsrun, runc or crun). As createRuntime or
// prestart it networks the container; as poststop it tears that down. The
// state's status picks the half ("stopped" = teardown), or --stage does.

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const HELP: Record<string, string> = {
  network: 'a network to attach (a name in --conf-dir), or none for loopback only; repeat for eth1, eth2…',
  'conf-dir': 'network configurations (default /etc/cni/net.d)',
  'cni-path': 'plugin directories, colon-separated ($CNI_PATH)',
  'cache-dir': 'result cache (default /var/lib/cni)',
  ifname: 'interface in the container (default eth0)',
  publish: 'publish a port (portmap): HOST:CONTAINER[/tcp|udp]',
  stage: 'setup or teardown; by default the state\'s status decides (stopped = teardown)',
};

export const command: Command = {
  args: 'cni --network NAME|none [flags]  (OCI state JSON on stdin)',
  // The table parseHookArgs parses with, with help for the usage.
  flags: HOOK_FLAGS.map((f) => ({ ...f, help: HELP[f.name] })),
  raw: true,
  async run(_p, g, _usage, argv) {
    const [kind, ...rest] = argv;
    if (kind !== 'cni') throw new TsrunError('BAD_INPUT', `hook: unknown hook "${kind ?? ''}"`, { hint: `usage: ${HOOK_USAGE}` });
    const o = parseHookArgs(rest);
    const state = parseState(readFileSync(0, 'utf8'));
    // Runtimes give hooks only the env the config lists; plugins need iptables on PATH.
    process.env.PATH ||= DEFAULT_PATH;
    let sys = await realSyscalls();
    if (g.explain) {
      startExplaining(fdSink(2, g.explain), 'hook');
      sys = traceSyscalls(sys);
    }
    const deps = { sys, warn: (m: string) => process.stderr.write(`tsrun: warning: ${m}\n`) };
    if (stageOf(state, o.stage) === 'setup') {
      // runc and crun have made the container's mounts: the hook mounts resolv.conf and hosts itself.
      await setupNetwork(deps, state, o, { dir: hookFilesDir(o.cacheDir, state.id), mount: 'hook' });
      return 0;
    }
    if (o.networks[0]!.name === 'none') return 0;
    const only = o.networks.map((ref) => {
      try {
        return { ref, list: loadConfList(o.confDir, ref.name) };
      } catch (err) {
        deps.warn(`${(err as Error).message}; tearing down from the cached config only`);
        return { ref };
      }
    });
    await teardownNetwork(deps, state.id, { cacheDir: o.cacheDir, cniPath: o.cniPath, only });
    return 0;
  },
};
