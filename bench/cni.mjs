import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsCleanup, runChild, sh } from './lib/netenv.mjs';

// CNI latency: ADD and DEL of a bridge (+ host-local) → portmap chain on a fresh
// netns, three ways: the reference plugins exec'd directly (the floor),
// `tsrun net add|del` (the CLI, Node boot included) and the library CniClient
// in-process.
//
// Isolation: everything "host side" happens inside a private network namespace
// (tsbench-host-PID) that this file creates and deletes: the bridge tsbench0,
// the veth host ends, the iptables rules of ipMasq and portmap, and the
// ip_forward sysctl live and die there, so the machine's own firewall and routes
// are never touched. The measurements run in `ip netns exec` (cni-inner.mjs);
// container netns handles (tsbench-ns-PID-i) are made here beforehand, one fresh
// one per ADD/DEL pair, and all deleted in `finally` (and on SIGINT/SIGTERM).

const here = fileURLToPath(new URL('.', import.meta.url));
export const SUBNET = '10.251.0.0/24';

const firewall = () => ['filter', 'nat', 'mangle'].map((t) => `# ${t}\n${sh('iptables', ['-t', t, '-S'], true)}`).join('');

export async function benchCni({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-cni-'));
  const hostNs = `tsbench-host-${process.pid}`;
  const variants = ['floor', 'cli', 'lib'];
  const total = (warmup + n) * variants.length;
  const netnses = [];
  const fwBefore = firewall();
  const routesBefore = sh('ip', ['route', 'show', 'table', 'all'], true);
  const cleanup = netnsCleanup(netnses, hostNs, tmp);
  onCleanup(cleanup);
  try {
    const conf = join(tmp, 'net.d');
    mkdirSync(conf);
    writeFileSync(
      join(conf, '10-tsbench.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tsbench',
        plugins: [
          {
            type: 'bridge',
            bridge: 'tsbench0',
            isGateway: true,
            ipMasq: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(tmp, 'ipam') },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        ],
      }, null, 2),
    );
    progress(`cni: creating ${hostNs} and ${total} container netns`);
    sh('ip', ['netns', 'add', hostNs]);
    for (let i = 0; i < total; i++) {
      const ns = `tsbench-ns-${process.pid}-${i}`;
      sh('ip', ['netns', 'add', ns]);
      netnses.push(ns);
    }
    const params = { repo, n, warmup, confDir: conf, cacheDir: join(tmp, 'cache'), cniPath: '/usr/lib/cni', netnses, out: join(tmp, 'out.json') };
    await runChild(['ip', 'netns', 'exec', hostNs], join(here, 'cni-inner.mjs'), params, log, onCleanup);
    return JSON.parse(readFileSync(params.out, 'utf8'));
  } finally {
    cleanup();
    const fwAfter = firewall();
    const routesAfter = sh('ip', ['route', 'show', 'table', 'all'], true);
    // Other work on a shared machine may change them meanwhile; only lines naming our subnet/bridge would be ours.
    const changed = (a, b) => {
      const before = new Set(a.split('\n'));
      const after = new Set(b.split('\n'));
      return [...after].filter((l) => !before.has(l)).concat([...before].filter((l) => !after.has(l)));
    };
    const ours = (l) => l.includes('10.251.0.') || l.includes('tsbench');
    for (const [what, diff] of [['iptables rules', changed(fwBefore, fwAfter)], ['routes', changed(routesBefore, routesAfter)]]) {
      if (diff.some(ours)) process.stderr.write(`cni: WARNING: host ${what} changed by the bench:\n${diff.filter(ours).join('\n')}\n`);
      else if (diff.length) process.stderr.write(`cni: note: host ${what} changed during the bench, none of it ours (other work on the machine)\n`);
    }
    const leftover = sh('ip', ['netns', 'list'], true).split('\n').filter((l) => l.startsWith(`tsbench-`) && l.includes(String(process.pid)));
    if (leftover.length) process.stderr.write(`cni: warning: netns left: ${leftover.join(', ')}\n`);
    if (existsSync('/sys/class/net/tsbench0')) process.stderr.write('cni: warning: tsbench0 exists in the host netns\n');
  }
}
