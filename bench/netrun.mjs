import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeBundle } from './startup.mjs';
import { ENV, checkHostFirewall, hostFirewall, netnsHandles, runChild, sh } from './lib/netenv.mjs';

// Issue 5's number: the networked lifecycle. `tsrun run --net NET -p PORT:80`
// of the busybox bundle running /bin/true (bridge → portmap → firewall, ADD
// in the createRuntime hook, DEL in poststop) against `runc run` of the same
// bundle whose config.json carries `tsrun hook cni` as createRuntime and
// poststop hooks running the reference plugin executables. Plus: both without
// a network, tsrun with the reference executables, runc's hook with tsrun's
// built-ins.
//
// The hook has no switch to force exec for built-in types (--cni-path only
// sets the search path), so the "reference executables" variants use a conf
// dir whose conflist names the reference binaries by types tsrun has no
// built-in for: tsref-bridge, tsref-portmap and tsref-firewall, symlinks in a
// temp CNI path to /usr/lib/cni/{bridge,portmap,firewall}, next to host-local
// (the reference bridge execs host-local from CNI_PATH itself). The built-in
// rows name `firewall`: in-process once tsrun has a built-in firewall plugin,
// the reference executable until then (the table says which).
//
// Isolation: the runtimes (and so their hooks, which run in the runtime's
// namespaces) run under `nsenter --net=/run/netns/tsbench-hostr-PID`: the
// bridge, veth host ends, iptables rules and ip_forward live in that netns.
// nsenter and not `ip netns exec`, which remounts /sys and so hides
// /sys/fs/cgroup from runc. Temp --root for both runtimes, temp conf, cache
// and host-local dataDir; container netns handles are /run/netns/<id> with
// ids tsbench-run-PID-…; all removed in finally and on SIGINT/SIGTERM/SIGHUP.

const here = fileURLToPath(new URL('.', import.meta.url));
export const RUN_SUBNET = '10.254.0.0/24';
export const RUN_BRIDGE = 'tsbench2';
export const HOST_PORT = 18082;
const NET = 'tsbench-run';

/** Whether tsrun runs plugin `type` in-process (dist/network/plugins/registry.js). */
export async function hasBuiltin(repo, type) {
  try {
    const { BUILTIN_TYPES } = await import(pathToFileURL(join(repo, 'dist/network/plugins/registry.js')).href);
    return BUILTIN_TYPES().includes(type);
  } catch {
    return false;
  }
}

function conflist(types, dataDir) {
  return {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      {
        type: types.bridge,
        bridge: RUN_BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: RUN_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
      },
      { type: types.portmap, capabilities: { portMappings: true }, snat: true },
      { type: types.firewall, backend: 'iptables' },
    ],
  };
}

export async function benchNetrun({ repo, n, warmup, log, progress = () => {}, onCleanup = () => {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsbench-netrun-'));
  const hostNs = `tsbench-hostr-${process.pid}`;
  const idPrefix = `tsbench-run-${process.pid}-`;
  const cli = join(repo, 'dist/tsrun.js');
  const d = {
    confBuiltin: join(tmp, 'conf-builtin'),
    confRef: join(tmp, 'conf-ref'),
    cniRef: join(tmp, 'cni-ref'),
    ipam: join(tmp, 'ipam'),
    tsRoot: join(tmp, 'tsrun-root'),
    rcRoot: join(tmp, 'runc-root'),
  };
  const fwBefore = hostFirewall();
  const inHost = ['nsenter', `--net=/run/netns/${hostNs}`];
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (existsSync(`/run/netns/${hostNs}`)) {
      // delete --force runs the poststop hooks: in the private netns, like the runs
      const ids = (dir) => (existsSync(dir) ? readdirSync(dir).filter((x) => x.startsWith(idPrefix)) : []);
      for (const id of ids(d.tsRoot)) sh(inHost[0], [...inHost.slice(1), process.execPath, cli, '--root', d.tsRoot, 'delete', '--force', id], true, { env: ENV });
      for (const id of ids(d.rcRoot)) sh(inHost[0], [...inHost.slice(1), 'runc', '--root', d.rcRoot, 'delete', '--force', id], true, { env: ENV });
    }
    for (const ns of netnsHandles(idPrefix)) sh('ip', ['netns', 'del', ns], true);
    sh('ip', ['netns', 'del', hostNs], true);
    rmSync(tmp, { recursive: true, force: true });
  };
  onCleanup(cleanup);
  let result;
  let hostCheck;
  try {
    mkdirSync(d.confBuiltin);
    mkdirSync(d.confRef);
    mkdirSync(d.cniRef);
    writeFileSync(join(d.confBuiltin, '10-tsbench-run.conflist'), JSON.stringify(conflist({ bridge: 'bridge', portmap: 'portmap', firewall: 'firewall' }, d.ipam), null, 2));
    writeFileSync(join(d.confRef, '10-tsbench-run.conflist'), JSON.stringify(conflist({ bridge: 'tsref-bridge', portmap: 'tsref-portmap', firewall: 'tsref-firewall' }, d.ipam), null, 2));
    for (const [alias, bin] of [['tsref-bridge', 'bridge'], ['tsref-portmap', 'portmap'], ['tsref-firewall', 'firewall'], ['host-local', 'host-local'], ['firewall', 'firewall']]) {
      symlinkSync(`/usr/lib/cni/${bin}`, join(d.cniRef, alias));
    }
    // the bundle (its config has a network namespace; the no-network rows run it as is)
    const bundle = makeBundle(repo, mkdtempSync(join(tmp, 'bundle-')));
    const base = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    const hooked = (name, confDir, cniPath) => {
      const dir = mkdtempSync(join(tmp, `bundle-${name}-`));
      const hook = {
        path: process.execPath,
        args: [process.execPath, cli, 'hook', 'cni', '--network', NET, '--conf-dir', confDir, '--cache-dir', join(tmp, `cache-${name}`), '--cni-path', cniPath, '-p', `${HOST_PORT}:80`],
        env: [`PATH=${ENV.PATH}`],
      };
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, hooks: { createRuntime: [hook], poststop: [hook] } }, null, 2));
      return dir;
    };
    const variants = {
      'runc.nonet': ['runc', ['--root', d.rcRoot, 'run', '--bundle', bundle]],
      'tsrun.nonet': [process.execPath, [cli, '--root', d.tsRoot, 'run', '--bundle', bundle]],
      'runc.ref': ['runc', ['--root', d.rcRoot, 'run', '--bundle', hooked('runc-ref', d.confRef, d.cniRef)]],
      'tsrun.net': [process.execPath, [cli, '--root', d.tsRoot, 'run', '--net', NET, '-p', `${HOST_PORT}:80`, '--conf-dir', d.confBuiltin, '--cache-dir', join(tmp, 'cache-tsrun'), '--bundle', bundle]],
      'tsrun.ref': [process.execPath, [cli, '--root', d.tsRoot, 'run', '--net', NET, '-p', `${HOST_PORT}:80`, '--conf-dir', d.confRef, '--cni-path', d.cniRef, '--cache-dir', join(tmp, 'cache-tsrun-ref'), '--bundle', bundle]],
      'runc.builtin': ['runc', ['--root', d.rcRoot, 'run', '--bundle', hooked('runc-builtin', d.confBuiltin, '/usr/lib/cni')]],
    };
    progress(`netrun: creating ${hostNs}`);
    sh('ip', ['netns', 'add', hostNs]);
    // TSRUN_TIMINGS runs of `tsrun run --net`, for the breakdown
    const timings = { variant: 'tsrun.net', runs: Math.min(n, 5), file: join(tmp, 'timings.jsonl') };
    const params = { n, warmup, idPrefix, variants, timings, ipamDir: join(d.ipam, NET), cacheDirs: [join(tmp, 'cache-tsrun'), join(tmp, 'cache-tsrun-ref'), join(tmp, 'cache-runc-ref'), join(tmp, 'cache-runc-builtin')], out: join(tmp, 'out.json') };
    await runChild(inHost, join(here, 'netrun-inner.mjs'), params, log, onCleanup);
    result = JSON.parse(readFileSync(params.out, 'utf8'));
  } finally {
    cleanup();
    hostCheck = checkHostFirewall('netrun', fwBefore, (l) => l.includes('10.254.0.') || l.includes('tsbench'));
    const left = netnsHandles('tsbench-').filter((x) => x.includes(`-${process.pid}`));
    if (left.length) process.stderr.write(`netrun: warning: netns left: ${left.join(', ')}\n`);
    if (existsSync(`/sys/class/net/${RUN_BRIDGE}`)) process.stderr.write(`netrun: warning: ${RUN_BRIDGE} exists in the host netns\n`);
  }
  return { ...result, builtinFirewall: await hasBuiltin(repo, 'firewall'), hostFirewall: hostCheck };
}
