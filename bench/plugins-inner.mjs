import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarize } from './lib/stats.mjs';
import { ENV, ms } from './lib/netenv.mjs';

// Runs inside `ip netns exec tsbench-hostp-PID` (see plugins.mjs). Writes its JSON to p.out.

const p = JSON.parse(process.argv[2]);
const progress = (m) => process.stderr.write(`${m}\n`);
const dist = (f) => import(pathToFileURL(join(p.repo, 'dist', f)).href);
const { CniClient } = await dist('network/cni/api.js');
const { loadConfList } = await dist('network/cni/conf.js');
const { runBuiltin } = await dist('network/plugins/run.js');
const { realDeps } = await dist('network/plugins/deps.js');

const samples = {};
const add = (k, v) => (samples[k] ??= []).push(v);
const rotate = (xs, i) => xs.map((_, j) => xs[(i + j) % xs.length]);

// ---------------------------------------------------------------- the chain
const list = loadConfList(p.confDir, p.network);
const capArgs = { portMappings: [{ hostPort: 18081, containerPort: 80, protocol: 'tcp' }] };

function pluginConf(plugin, prev) {
  const c = { cniVersion: list.cniVersion, name: list.name, ...plugin };
  if (prev) c.prevResult = prev;
  const caps = Object.keys(plugin.capabilities ?? {}).filter((k) => plugin.capabilities[k] && k in capArgs);
  if (caps.length) c.runtimeConfig = Object.fromEntries(caps.map((k) => [k, capArgs[k]]));
  return c;
}
function execPlugin(cmd, plugin, prev, rt, put) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(p.cniPath, plugin.type), [], {
    input: JSON.stringify(pluginConf(plugin, prev)),
    env: { ...ENV, CNI_COMMAND: cmd, CNI_CONTAINERID: rt.containerId, CNI_NETNS: rt.netns, CNI_IFNAME: rt.ifName, CNI_PATH: p.cniPath },
  });
  put(`chain.floor.${plugin.type}.${cmd}`, ms(t0));
  if (r.status !== 0) throw new Error(`${plugin.type} ${cmd}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
  return r.stdout.length ? JSON.parse(r.stdout) : undefined;
}
const plugins = JSON.parse(readFileSync(join(p.confDir, '10-tsbench-chain.conflist'), 'utf8')).plugins;

const inProcess = new CniClient({ path: [p.cniPath], cacheDir: join(p.tmp, 'cache-lib') });
const reference = new CniClient({ path: [p.cniPath], cacheDir: join(p.tmp, 'cache-ref'), forceExec: true });
let nsIndex = 0;
const chain = {
  // the reference plugins exec'd one by one, prevResult threaded (no CNI client at all)
  async floor(rt, put) {
    let t = process.hrtime.bigint();
    let prev;
    for (const plugin of plugins) prev = execPlugin('ADD', plugin, prev, rt, put);
    put('chain.floor.add', ms(t));
    t = process.hrtime.bigint();
    for (const plugin of [...plugins].reverse()) execPlugin('DEL', plugin, prev, rt, put);
    put('chain.floor.del', ms(t));
    return prev;
  },
  ref: (rt, put) => viaClient('ref', reference, rt, put),
  lib: (rt, put) => viaClient('lib', inProcess, rt, put),
};
async function viaClient(name, client, rt, put) {
  let t = process.hrtime.bigint();
  const result = await client.addNetworkList(list, rt);
  put(`chain.${name}.add`, ms(t));
  t = process.hrtime.bigint();
  await client.delNetworkList(list, rt);
  put(`chain.${name}.del`, ms(t));
  return result;
}
// Variants in rotated order per iteration; the warm-up runs load the plugin modules.
const examples = {};
for (let i = 0; i < p.warmup + p.n; i++) {
  const rec = i >= p.warmup;
  progress(`plugins chain ${rec ? 'run' : 'warm-up'} ${rec ? i - p.warmup + 1 : i + 1}/${rec ? p.n : p.warmup}`);
  for (const v of rotate(Object.keys(chain), i)) {
    const rt = { containerId: `tsbench-${v}-${process.pid}-${i}`, netns: `/run/netns/${p.netnses[nsIndex++]}`, ifName: 'eth0', args: [], capabilityArgs: capArgs };
    const result = await chain[v](rt, (k, x) => rec && add(k, x));
    examples[v] ??= result?.ips?.map((x) => x.address);
  }
}

// ---------------------------------------------------------------- host-local
const HL_NET = 'tsbench-hl';
const [base] = p.hlSubnet.split('/');
const ipToInt = (ip) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const intToIp = (x) => [24, 16, 8, 0].map((s) => Math.floor(x / 2 ** s) % 256).join('.');
const first = ipToInt(base) + 2; // .1 is the gateway

/** The reference's layout: <dataDir>/<net>/<ip> holding "<id>\r\n<ifname>", and the cursor after the last. */
function fill(dataDir, count) {
  const dir = join(dataDir, HL_NET);
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < count; k++) writeFileSync(join(dir, intToIp(first + k)), `tsbench-fill-${k}\r\neth0`);
  writeFileSync(join(dir, 'last_reserved_ip.0'), intToIp(first + count - 1));
  return dir;
}
const hlConf = (dataDir) => ({
  cniVersion: '1.0.0',
  name: HL_NET,
  type: 'host-local',
  ipam: { type: 'host-local', ranges: [[{ subnet: p.hlSubnet }]], dataDir },
});
const deps = await realDeps();
const hl = {};
for (const size of p.hlSizes) {
  for (const tool of ['tsrun', 'ref']) {
    const dataDir = join(p.tmp, `hl-${tool}-${size}`);
    const t0 = process.hrtime.bigint();
    const dir = fill(dataDir, size);
    progress(`plugins host-local: ${size} allocations for ${tool} in ${ms(t0).toFixed(0)} ms`);
    hl[`${tool}.${size}`] = { tool, size, conf: hlConf(dataDir), dir };
  }
}
const hostNsPath = '/proc/self/ns/net'; // host-local never enters it; ADD only wants CNI_NETNS set
async function hlTsrun(cmd, conf, id) {
  const req = { containerId: id, netns: hostNsPath, ifName: 'eth0', args: '', path: [p.cniPath], conf: structuredClone(conf) };
  const t = process.hrtime.bigint();
  const out = await runBuiltin('host-local', cmd, req, deps);
  return [ms(t), out];
}
function hlRef(cmd, conf, id) {
  const t = process.hrtime.bigint();
  const r = spawnSync(join(p.cniPath, 'host-local'), [], {
    input: JSON.stringify(conf),
    env: { ...ENV, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: hostNsPath, CNI_IFNAME: 'eth0', CNI_PATH: p.cniPath },
  });
  const took = ms(t);
  if (r.status !== 0) throw new Error(`host-local ${cmd}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
  return [took, r.stdout.length ? JSON.parse(r.stdout) : undefined];
}
const hlKeys = Object.keys(hl);
for (let i = 0; i < p.warmup + p.n; i++) {
  const rec = i >= p.warmup;
  progress(`plugins host-local ${rec ? 'run' : 'warm-up'} ${rec ? i - p.warmup + 1 : i + 1}/${rec ? p.n : p.warmup}`);
  for (const k of rotate(hlKeys, i)) {
    const { tool, conf } = hl[k];
    const id = `tsbench-hl-${process.pid}-${i}-${k}`;
    const call = tool === 'tsrun' ? hlTsrun : hlRef;
    const [tAdd, result] = await call('ADD', conf, id);
    const [tDel] = await call('DEL', conf, id);
    if (rec) {
      add(`hl.${k}.add`, tAdd);
      add(`hl.${k}.del`, tDel);
    }
    examples[`hl.${k}`] ??= result?.ips?.map((x) => x.address);
  }
}
const count = (dir) => readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length;
const hlAfter = Object.fromEntries(hlKeys.map((k) => [k, count(hl[k].dir)]));

const out = { examples, hlAllocatedAfter: hlAfter, samples: {} };
for (const [k, v] of Object.entries(samples)) out.samples[k] = summarize(v);
writeFileSync(p.out, JSON.stringify(out));
