import { TsrunError } from '../../errors.js';
import { CniClient } from '../../network/cni/api.js';
import { DEFAULT_CACHE_DIR } from '../../network/cni/cache.js';
import { DEFAULT_CONF_DIR, loadConfList } from '../../network/cni/conf.js';
import { DEFAULT_CNI_PATH } from '../../network/cni/exec.js';
import { gcNetworkList, getStatusNetworkList, type GcAttachment } from '../../network/cni/maintenance.js';
import { parseCniArgs, parseCapArgs, runtimeConfFor } from '../../network/cni/cli-input.js';
import { list, parseFlags, str, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';

// tsrun net: what cnitool does (add/check/del), plus gc and status.

const usage =
  'tsrun net show ID | --netns PATH [--format text|json|mermaid] | ' +
  'tsrun net add|check|del NETWORK NETNS | gc NETWORK [NETNS] [--valid CID/IFNAME]… | gc (the hook\'s attachments of gone containers) | status NETWORK  ' +
  '[--ifname eth0] [--args K=V;…] [--cap-args JSON] [--conf-dir D] [--cni-path P] [--cache-dir D] [--container-id ID]';

const flags: FlagSpec[] = [
  { name: 'ifname', value: true },
  { name: 'args', value: true },
  { name: 'cap-args', value: true },
  { name: 'conf-dir', value: true },
  { name: 'cni-path', value: true },
  { name: 'cache-dir', value: true },
  { name: 'container-id', value: true },
  { name: 'timeout', value: true },
  { name: 'valid', value: true, repeat: true },
];

export const command: Command = {
  usage,
  async run(argv, globals) {
    if (argv[0] === 'show') return (await import('./net-show.js')).runShow(argv.slice(1), globals);
    const p = parseFlags(argv, flags);
    const [sub, network, netns] = p.positionals;
    if (sub === 'gc' && !network) {
      // No network: sweep what `tsrun hook cni` attached to containers that are gone.
      const { sweepGone } = await import('../../network/hook/teardown.js');
      const { realSyscalls } = await import('../../runtime/sys/index.js');
      const cniPath = str(p, 'cni-path') ?? process.env.CNI_PATH;
      const warn = (m: string) => process.stderr.write(`tsrun: warning: ${m}\n`);
      print(await sweepGone({ sys: await realSyscalls(), warn }, str(p, 'cache-dir') ?? DEFAULT_CACHE_DIR, cniPath ? cniPath.split(':').filter(Boolean) : undefined));
      return 0;
    }
    if (!sub || !network) throw new TsrunError('BAD_INPUT', 'net: expected a subcommand and NETWORK', { hint: `usage: ${usage}` });
    const env = process.env;
    const cniPath = str(p, 'cni-path') ?? env.CNI_PATH;
    const client = new CniClient({
      path: cniPath ? cniPath.split(':').filter(Boolean) : DEFAULT_CNI_PATH,
      cacheDir: str(p, 'cache-dir') ?? DEFAULT_CACHE_DIR,
      timeoutMs: str(p, 'timeout') ? Number(str(p, 'timeout')) * 1000 : undefined,
      warn: (m) => process.stderr.write(`tsrun: warning: ${m}\n`),
    });
    const conf = loadConfList(str(p, 'conf-dir') ?? env.NETCONFPATH ?? DEFAULT_CONF_DIR, network);
    const rt = () =>
      runtimeConfFor(netns, {
        containerId: str(p, 'container-id') ?? env.CNI_CONTAINERID,
        ifName: str(p, 'ifname') ?? env.CNI_IFNAME,
        args: parseCniArgs(str(p, 'args') ?? env.CNI_ARGS),
        capabilityArgs: parseCapArgs(str(p, 'cap-args') ?? env.CAP_ARGS),
      });
    switch (sub) {
      case 'add':
        print(await client.addNetworkList(conf, rt()));
        return 0;
      case 'check':
        await client.checkNetworkList(conf, rt());
        return 0;
      case 'del':
        await client.delNetworkList(conf, rt());
        return 0;
      case 'gc': {
        const valid = list(p, 'valid').map(parseAttachment);
        print(await gcNetworkList(client, conf, valid));
        return 0;
      }
      case 'status':
        await getStatusNetworkList(client, conf);
        return 0;
      default:
        throw new TsrunError('BAD_INPUT', `net: unknown subcommand "${sub}"`, { hint: `usage: ${usage}` });
    }
  },
};

function parseAttachment(s: string): GcAttachment {
  const [containerID, ifname] = s.split('/');
  if (!containerID || !ifname) throw new TsrunError('BAD_INPUT', `--valid: expected CONTAINERID/IFNAME, got "${s}"`);
  return { containerID, ifname };
}

function print(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}
