import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOTFS, Scratch, isRoot, tsrun } from '../helpers/bundle.js';
import { killLeftovers, leaks } from '../helpers/leak-check.js';

// Issue 16's tutorial flow: a shell script written for runc — run -d, the pid
// from `ps` (runc's `ps -ef` columns), a CNI plugin called by hand on
// /proc/<pid>/ns/net, then DEL and delete — works the same with tsrun in its
// place: same address, nothing left. Bridge tstut0, subnet 10.248.77.0/24,
// ids start with tut-.

const hasRunc = spawnSync('runc', ['--version']).status === 0;
const scratch = isRoot && hasRunc ? new Scratch('tut') : undefined;
const BRIDGE = 'tstut0';

afterAll(() => {
  if (!scratch) return;
  tsrun(scratch.root, ['delete', '--force', 'tut-c1']);
  spawnSync('runc', ['--root', join(scratch.dir, 'runc-root'), 'delete', '--force', 'tut-c1']);
  spawnSync('ip', ['link', 'del', BRIDGE]);
  const left = leaks({ root: scratch.root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  scratch.remove();
  expect(left).toEqual([]);
});

const SCRIPT = `
set -eu
$RT run -d -b "$BUNDLE" tut-c1 >/dev/null 2>&1 </dev/null
pid=$($RT ps tut-c1 | sed 1d | awk '{print $2}')
cni() { CNI_COMMAND=$1 CNI_CONTAINERID=tut-c1 CNI_NETNS=/proc/$pid/ns/net CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge < "$CONF"; }
cni ADD > "$OUT/add.json"
$RT exec tut-c1 ip -4 -o addr show eth0 | awk '{print $4}' > "$OUT/addr"
cni DEL
$RT delete --force tut-c1
`;

function flow(name: string, rt: string): { add: { ips: { address: string }[] }; addr: string; ipamLeft: string[] } {
  const out = join(scratch!.dir, `out-${name}`);
  const ipam = join(scratch!.dir, `ipam-${name}`);
  mkdirSync(out);
  const conf = join(scratch!.dir, `${name}.conf`);
  writeFileSync(conf, JSON.stringify({ cniVersion: '1.0.0', name: 'tut-net', type: 'bridge', bridge: BRIDGE, isGateway: true, ipam: { type: 'host-local', subnet: '10.248.77.0/24', dataDir: ipam } }));
  const bundle = scratch!.bundle(['sleep', '60'], (cfg) => {
    cfg.mounts = cfg.mounts.filter((m: { destination: string }) => m.destination !== '/sys');
  });
  const r = spawnSync('sh', ['-c', SCRIPT], { encoding: 'utf8', env: { PATH: process.env.PATH, RT: rt, BUNDLE: bundle, CONF: conf, OUT: out } });
  expect(r.status, r.stderr).toBe(0);
  return {
    add: JSON.parse(readFileSync(join(out, 'add.json'), 'utf8')),
    addr: readFileSync(join(out, 'addr'), 'utf8').trim(),
    ipamLeft: readdirSync(join(ipam, 'tut-net')).filter((f) => /^\d/.test(f)),
  };
}

describe.skipIf(!scratch)('a runc tutorial script with tsrun in runc\'s place', () => {
  it('run -d, pid from ps, CNI bridge ADD/DEL by hand, delete: the same with runc and tsrun', () => {
    const byRunc = flow('runc', `runc --root ${join(scratch!.dir, 'runc-root')}`);
    const byTsrun = flow('tsrun', `${process.execPath} ${CLI} --root ${scratch!.root}`);
    expect(byRunc.addr).toBe('10.248.77.2/24');
    expect(byTsrun.addr).toBe(byRunc.addr);
    expect(byTsrun.add.ips[0]!.address).toBe(byRunc.add.ips[0]!.address);
    expect(byRunc.ipamLeft).toEqual([]);
    expect(byTsrun.ipamLeft).toEqual([]);
  });
});
