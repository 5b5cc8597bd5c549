import { spawnSync } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarize } from './lib/stats.mjs';

// Runs inside `ip netns exec tsbench-host-PID` (see cni.mjs). Measures, per
// iteration and round-robin: the reference plugins exec'd directly, `tsrun net`
// and the in-process CniClient. Writes its JSON to params.out.

const p = JSON.parse(process.argv[2]);
const conflist = JSON.parse((await import('node:fs')).readFileSync(join(p.confDir, '10-tsbench.conflist'), 'utf8'));
const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const capArgs = { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] };
const logFd = 1; // stdout is the log file (cni.mjs)
const progress = (m) => process.stderr.write(`${m}\n`);

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

// --- the floor: each plugin binary with the CNI env and its stdin, prevResult threaded
function pluginConf(plugin, prev) {
  const c = { cniVersion: conflist.cniVersion, name: conflist.name, ...plugin };
  if (prev) c.prevResult = prev;
  const caps = Object.keys(plugin.capabilities ?? {}).filter((k) => plugin.capabilities[k] && k in capArgs);
  if (caps.length) c.runtimeConfig = Object.fromEntries(caps.map((k) => [k, capArgs[k]]));
  return c;
}
function execPlugin(cmd, plugin, prev, rt, perPlugin) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(p.cniPath, plugin.type), [], {
    input: JSON.stringify(pluginConf(plugin, prev)),
    env: { ...env, CNI_COMMAND: cmd, CNI_CONTAINERID: rt.containerId, CNI_NETNS: rt.netns, CNI_IFNAME: rt.ifName, CNI_PATH: p.cniPath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  perPlugin?.(`${plugin.type}.${cmd}`, ms(t0));
  if (r.status !== 0) throw new Error(`${plugin.type} ${cmd}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
  return r.stdout.length ? JSON.parse(r.stdout) : undefined;
}
function floorAdd(rt, perPlugin) {
  let prev;
  for (const plugin of conflist.plugins) prev = execPlugin('ADD', plugin, prev, rt, perPlugin);
  return prev;
}
function floorDel(rt, result, perPlugin) {
  for (const plugin of [...conflist.plugins].reverse()) execPlugin('DEL', plugin, result, rt, perPlugin);
}

// --- the CLI
const cli = join(p.repo, 'dist/tsrun.js');
function tsrunNet(cmd, rt) {
  const args = [cli, 'net', cmd, conflist.name, rt.netns, '--conf-dir', p.confDir, '--cni-path', p.cniPath, '--cache-dir', p.cacheDir, '--container-id', rt.containerId];
  if (cmd === 'add') args.push('--cap-args', JSON.stringify(capArgs));
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', logFd, 'pipe'], env });
  if (r.status !== 0) throw new Error(`tsrun net ${cmd}: exit ${r.status}: ${r.stderr}`);
}

// --- the library, in this process
const t0 = process.hrtime.bigint();
const { CniClient } = await import(pathToFileURL(join(p.repo, 'dist/network/cni/api.js')).href);
const { loadConfList } = await import(pathToFileURL(join(p.repo, 'dist/network/cni/conf.js')).href);
const importMs = ms(t0);
const client = new CniClient({ path: [p.cniPath], cacheDir: p.cacheDir });

const samples = {};
const add = (k, v) => (samples[k] ??= []).push(v);
let nsIndex = 0;
let firstResult;
for (let i = 0; i < p.warmup + p.n; i++) {
  const rec = i >= p.warmup;
  progress(`cni ${rec ? 'run' : 'warm-up'} ${rec ? i - p.warmup + 1 : i + 1}/${rec ? p.n : p.warmup}`);
  const rt = (v) => ({ containerId: `tsbench-${v}-${process.pid}-${i}`, netns: `/run/netns/${p.netnses[nsIndex++]}`, ifName: 'eth0', args: [], capabilityArgs: capArgs });
  const put = (k, v) => rec && add(k, v);
  {
    const r = rt('floor');
    let t = process.hrtime.bigint();
    const result = floorAdd(r, (k, v) => put(`floor.${k}`, v));
    put('floor.add', ms(t));
    firstResult ??= result;
    t = process.hrtime.bigint();
    floorDel(r, result, (k, v) => put(`floor.${k}`, v));
    put('floor.del', ms(t));
  }
  {
    const r = rt('cli');
    let t = process.hrtime.bigint();
    tsrunNet('add', r);
    put('cli.add', ms(t));
    t = process.hrtime.bigint();
    tsrunNet('del', r);
    put('cli.del', ms(t));
  }
  {
    const r = rt('lib');
    let t = process.hrtime.bigint();
    // loading the conflist is part of each call, as `tsrun net` does
    await client.addNetworkList(loadConfList(p.confDir, conflist.name), r);
    put('lib.add', ms(t));
    t = process.hrtime.bigint();
    await client.delNetworkList(loadConfList(p.confDir, conflist.name), r);
    put('lib.del', ms(t));
  }
}
const out = { importCniClientMs: +importMs.toFixed(2), exampleIps: firstResult?.ips?.map((x) => x.address), samples: {} };
for (const [k, v] of Object.entries(samples)) out.samples[k] = summarize(v);
writeFileSync(p.out, JSON.stringify(out));
