import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHostFirewall, hostFirewall, netnsCleanup, netnsHandles, runChild, sh } from './lib/netenv.mjs';

// Issue 6's numbers, in one run:
//  - the chain bridge (ipMasq, isGateway) → portmap (1 port) → firewall ADD
//    and DEL on a fresh netns: the reference plugins exec'd directly (floor),
//    CniClient with forceExec (the reference executables, CNI_PATH=/usr/lib/cni
//    only) and CniClient default (tsrun's built-ins in-process: bridge,
//    host-local, portmap, and firewall once tsrun has it; until then the
//    reference firewall is exec'd there too);
//  - host-local ADD (and DEL) at 10 and at 10,000 allocated IPs, tsrun's
//    in-process host-local against the reference executable, each on its own
//    dataDir pre-filled with the reference's files.
// Everything "host side" is inside the private netns tsbench-hostp-PID (see
// cni.mjs); the measurements run in plugins-inner.mjs under `ip netns exec`.

const here = fileURLToPath(new URL('.', import.meta.url));
export const CHAIN_SUBNET = '10.253.0.0/24';
export const CHAIN_BRIDGE = 'tsbench1';
export const HL_SUBNET = '10.252.0.0/16';
export const HL_SIZES = [10, 10_000];

export async function benchPlugins({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-plugins-'));
  const hostNs = `tsbench-hostp-${process.pid}`;
  const chainVariants = 3;
  const total = (warmup + n) * chainVariants;
  const netnses = [];
  const fwBefore = hostFirewall();
  const cleanup = netnsCleanup(netnses, hostNs, tmp);
  onCleanup(cleanup);
  let hostCheck;
  let result;
  try {
    const conf = join(tmp, 'net.d');
    mkdirSync(conf);
    writeFileSync(
      join(conf, '10-tsbench-chain.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tsbench-chain',
        plugins: [
          {
            type: 'bridge',
            bridge: CHAIN_BRIDGE,
            isGateway: true,
            ipMasq: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: CHAIN_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(tmp, 'ipam-chain') },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          // backend pinned: never ask a firewalld on the machine's D-Bus
          { type: 'firewall', backend: 'iptables' },
        ],
      }, null, 2),
    );
    progress(`plugins: creating ${hostNs} and ${total} container netns`);
    sh('ip', ['netns', 'add', hostNs]);
    for (let i = 0; i < total; i++) {
      const ns = `tsbench-nsp-${process.pid}-${i}`;
      sh('ip', ['netns', 'add', ns]);
      netnses.push(ns);
    }
    const params = {
      repo, n, warmup, tmp, confDir: conf, network: 'tsbench-chain', cniPath: '/usr/lib/cni', netnses,
      hlSubnet: HL_SUBNET, hlSizes: HL_SIZES, out: join(tmp, 'out.json'),
    };
    await runChild(['ip', 'netns', 'exec', hostNs], join(here, 'plugins-inner.mjs'), params, log, onCleanup);
    result = JSON.parse(readFileSync(params.out, 'utf8'));
  } finally {
    cleanup();
    hostCheck = checkHostFirewall('plugins', fwBefore, (l) => l.includes('10.253.') || l.includes('10.252.') || l.includes('tsbench'));
    const left = netnsHandles('tsbench-').filter((x) => x.includes(`-${process.pid}`));
    if (left.length) process.stderr.write(`plugins: warning: netns left: ${left.join(', ')}\n`);
    if (existsSync(`/sys/class/net/${CHAIN_BRIDGE}`)) process.stderr.write(`plugins: warning: ${CHAIN_BRIDGE} exists in the host netns\n`);
  }
  return { ...result, hostFirewall: hostCheck };
}
