import { TsrunError } from '../../errors.js';
import { CniClient } from '../../network/cni/api.js';
import { DEFAULT_CACHE_DIR } from '../../network/cni/cache.js';
import { DEFAULT_CONF_DIR, loadConfList } from '../../network/cni/conf.js';
import { DEFAULT_CNI_PATH } from '../../network/cni/exec.js';
import { gcNetworkList, getStatusNetworkList, type GcAttachment } from '../../network/cni/maintenance.js';
import { parseCniArgs, parseCapArgs, runtimeConfFor } from '../../network/cni/cli-input.js';
import { list, str, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';

// tsrun net: what cnitool does (add/check/del), plus gc and status.


const flags: FlagSpec[] = [
  { name: 'ifname', value: 'NAME', help: 'interface in the netns (default eth0; $CNI_IFNAME)' },
  { name: 'args', value: 'K=V;…', help: 'CNI_ARGS ($CNI_ARGS)' },
  { name: 'cap-args', value: 'JSON', help: 'runtimeConfig capability arguments ($CAP_ARGS)' },
  { name: 'conf-dir', value: 'DIR', help: 'network configurations (default /etc/cni/net.d; $NETCONFPATH)' },
  { name: 'cni-path', value: 'PATH', help: 'plugin directories, colon-separated ($CNI_PATH)' },
  { name: 'cache-dir', value: 'DIR', help: 'result cache (default /var/lib/cni)' },
  { name: 'container-id', value: 'ID', help: 'CNI_CONTAINERID ($CNI_CONTAINERID)' },
  { name: 'timeout', value: 'SECONDS', help: 'time limit for each plugin call' },
  { name: 'valid', value: 'CID/IFNAME', repeat: true, help: 'gc: an attachment to keep' },
  { name: 'netns', value: 'PATH', help: 'show: any netns handle instead of a container ID' },
  { name: 'format', value: 'text|json|mermaid', help: 'show: output format (default text)' },
];

export const command: Command = {
  args: 'show ID | show --netns PATH | add|check|del NETWORK NETNS | gc NETWORK [NETNS] | gc | status NETWORK | prune',
  flags,
  notes: ['show: the network of a container (or netns handle), live from the kernel next to the CNI cache.', 'gc without NETWORK sweeps what `tsrun hook cni` attached to containers that are gone.',
    "prune: removes the chains portmap (CNI-HOSTPORT-DNAT, -MASQ, -SETMARK) and firewall (CNI-FORWARD, CNI-ADMIN) leave for the next ADD, with their jumps, when nothing else uses them; the kernel refuses it otherwise."],
  async run(p, g, usage) {
    const [sub, network, netns] = p.positionals;
    if (sub === 'show') return (await import('./net-show.js')).runShow(p, g, usage);
    if (sub === 'prune') {
      const { pruneShared } = await import('../../network/plugins/prune.js');
      const { portmapShared } = await import('../../network/plugins/portmap/prune.js');
      const { firewallShared } = await import('../../network/plugins/firewall/prune.js');
      const { ExecIptables } = await import('../../network/plugins/iptables.js');
      const x = new ExecIptables();
      for (const f of [4, 6] as const) {
        for (const r of [await pruneShared(x, f, 'nat', portmapShared()), await pruneShared(x, f, 'filter', firewallShared)]) {
          const where = `${f === 4 ? 'iptables' : 'ip6tables'} ${r.table}`;
          if (r.removed.length) process.stdout.write(`${where}: removed ${r.removed.join(', ')}\n`);
          for (const k of r.kept) process.stdout.write(`${where}: kept: ${k}\n`);
        }
      }
      return 0;
    }
    if (sub === 'gc' && !network) {
      // No network: sweep what `tsrun hook cni` attached to containers that are gone.
      const { sweepGone } = await import('../../network/cni-hook/teardown.js');
      const { realSyscalls } = await import('../../sys/index.js');
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
