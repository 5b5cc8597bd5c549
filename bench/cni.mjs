import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

function sh(cmd, args, allowFail = false) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}

const firewall = () => ['filter', 'nat', 'mangle'].map((t) => `# ${t}\n${sh('iptables', ['-t', t, '-S'], true)}`).join('');

export async function benchCni({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-cni-'));
  const hostNs = `tsbench-host-${process.pid}`;
  const variants = ['floor', 'cli', 'lib'];
  const total = (warmup + n) * variants.length;
  const netnses = [];
  const fwBefore = firewall();
  const routesBefore = sh('ip', ['route', 'show', 'table', 'all'], true);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const ns of netnses) sh('ip', ['netns', 'del', ns], true);
    sh('ip', ['netns', 'del', hostNs], true);
    rmSync(tmp, { recursive: true, force: true });
  };
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
    const fd = openSync(log, 'a');
    try {
      // stderr stays ours for progress lines; stdout (plugin output) goes to the log
      // async, so a SIGINT/SIGTERM handler of the caller can run (and kill it) meanwhile
      const child = spawn('ip', ['netns', 'exec', hostNs, process.execPath, join(here, 'cni-inner.mjs'), JSON.stringify(params)], {
        stdio: ['ignore', fd, 'inherit'],
      });
      onCleanup(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, true);
      const [code, signal] = await new Promise((res, rej) => {
        child.once('error', rej);
        child.once('exit', (c, s) => res([c, s]));
      });
      if (code !== 0) throw new Error(`cni-inner.mjs failed (exit ${code ?? signal}); see ${log}`);
    } finally {
      closeSync(fd);
    }
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
