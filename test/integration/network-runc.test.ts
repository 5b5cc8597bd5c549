import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, baseConfig, isRoot } from '../helpers/bundle.js';
import { cleanup, iptablesRules, ok, sweepIptables, writeConf } from '../helpers/netns.js';

// `tsrun hook cni` as the createRuntime + poststop hook of a bundle run by
// Debian's runc. Names unique to this file: ids n5r-*, bridge tsn5br2, 10.245.3.0/24.
const NET = 'n5-runc';
const BR = 'tsn5br2';
const hasRunc = ok('sh', ['-c', 'command -v runc']);
const hasCrun = ok('sh', ['-c', 'command -v crun']);
let s: Scratch;

const dirs = () => ({ conf: join(s.dir, 'conf'), cache: join(s.dir, 'cache'), ipam: join(s.dir, 'ipam'), runc: join(s.dir, 'runc') });
const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);

function runcBundle(id: string, args: string[], phases: { setup: string; teardown?: boolean }): string {
  const dir = s.rawBundle(undefined);
  cpSync(ROOTFS, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const cfg = baseConfig();
  cfg.root = { path: 'rootfs', readonly: true };
  cfg.hostname = id;
  cfg.process.args = args;
  for (const set of ['bounding', 'effective', 'permitted']) cfg.process.capabilities[set].push('CAP_NET_RAW');
  const d = dirs();
  const hook = {
    path: process.execPath,
    args: ['node', CLI, 'hook', 'cni', '--network', NET, '--conf-dir', d.conf, '--cache-dir', d.cache, '--cni-path', '/usr/lib/cni'],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    timeout: 60,
  };
  cfg.hooks = { [phases.setup]: [hook], ...(phases.teardown ? { poststop: [hook] } : {}) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

function runc(args: string[], bin: 'runc' | 'crun' = 'runc') {
  return spawnSync(bin, ['--root', join(s.dir, bin), ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function expectNothingLeft(id: string) {
  expect(existsSync(`/run/netns/${id}`)).toBe(false);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/run/netns/${id}`);
  expect(ls(join(dirs().cache, 'results'))).toEqual([]);
  expect(ls(join(dirs().cache, 'tsrun-hook'))).toEqual([]);
  expect(ls(join(dirs().ipam, NET)).filter((f) => /^\d/.test(f))).toEqual([]);
  expect(iptablesRules('nat')).not.toContain(`id: \\"${id}\\"`);
}

beforeAll(() => {
  if (!isRoot || !hasRunc) return;
  s = new Scratch('n5r');
  writeConf(dirs().conf, 'n5-runc.conflist', {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      {
        type: 'bridge', bridge: BR, isGateway: true, ipMasq: true,
        ipam: { type: 'host-local', dataDir: dirs().ipam, subnet: '10.245.3.0/24', routes: [{ dst: '0.0.0.0/0' }] },
        dns: { nameservers: ['10.245.3.53'] },
      },
    ],
  });
});

afterAll(() => {
  if (!isRoot || !hasRunc) return;
  for (const id of ['n5r-1', 'n5r-2', 'n5r-3']) {
    runc(['delete', '--force', id]);
    if (hasCrun) runc(['delete', '--force', id], 'crun');
    if (existsSync(`/run/netns/${id}`)) ok('ip', ['netns', 'del', id]);
  }
  cleanup({ links: [BR] });
  sweepIptables(NET);
  s.remove();
});

describe.skipIf(!isRoot || !hasRunc)('tsrun hook cni under runc', () => {
  it('createRuntime + poststop: the container gets its IP, DNS and hosts; runc run tears it down on exit', () => {
    const b = runcBundle('n5r-1', ['sh', '-c', 'ip -o -4 addr show eth0; hostname -i; cat /etc/resolv.conf; ping -c1 -W2 10.245.3.1'], { setup: 'createRuntime', teardown: true });
    const r = runc(['run', '-b', b, 'n5r-1']);
    expect(r.status, r.stderr).toBe(0);
    const ip = /inet (10\.245\.3\.\d+)\/24/.exec(r.stdout)?.[1];
    expect(ip).toBeDefined();
    expect(r.stdout).toContain(`${ip}\n`); // hostname -i
    expect(r.stdout).toContain('nameserver 10.245.3.53');
    expect(r.stdout).toContain('1 packets received');
    expectNothingLeft('n5r-1');
  });

  it('as a prestart hook, and `runc delete --force` of a running container tears it down', () => {
    const b = runcBundle('n5r-2', ['sleep', '600'], { setup: 'prestart', teardown: true });
    // the detached container keeps runc's stdio: give it a file, not a pipe
    const errFile = join(s.dir, 'runc-d.err');
    const fd = openSync(errFile, 'w');
    const r = spawnSync('runc', ['--root', dirs().runc, 'run', '-d', '-b', b, 'n5r-2'], { timeout: 60_000, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    expect(r.status, readFileSync(errFile, 'utf8')).toBe(0);
    expect(existsSync('/run/netns/n5r-2')).toBe(true);
    expect(ls(join(dirs().ipam, NET)).filter((f) => /^\d/.test(f))).toHaveLength(1);
    const del = runc(['delete', '--force', 'n5r-2']);
    expect(del.status, del.stderr).toBe(0);
    expectNothingLeft('n5r-2');
  });

  it.skipIf(!hasCrun)('the same hook under crun (skipped without crun: scripts/setup.sh installs it)', (ctx) => {
    const b = runcBundle('n5r-3', ['sh', '-c', 'ip -o -4 addr show eth0; hostname -i; cat /etc/resolv.conf'], { setup: 'createRuntime', teardown: true });
    // Debian's crun 1.8 knows runtime-spec 1.0.x only.
    const cfgFile = join(b, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), ociVersion: '1.0.2' }));
    const r = runc(['run', '-b', b, 'n5r-3'], 'crun');
    // crun refuses hosts with v1 controllers plus a cgroup2 mount (this test machine's layout).
    if (r.status !== 0 && r.stderr.includes('hybrid mode not supported')) ctx.skip('crun cannot run on this host: it does not support hybrid cgroups (v1 controllers + cgroup2)');
    expect(r.status, r.stderr).toBe(0);
    const ip = /inet (10\.245\.3\.\d+)\/24/.exec(r.stdout)?.[1];
    expect(ip).toBeDefined();
    expect(r.stdout).toContain(`${ip}\n`);
    expect(r.stdout).toContain('nameserver 10.245.3.53');
    expectNothingLeft('n5r-3');
  });
});
