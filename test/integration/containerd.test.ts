import { execa, execaSync, type ResultPromise } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, ok, sh } from '../helpers/netns.js';

// containerd (Debian's package) with tsrun as its runtime and tsrun's
// installed plugins doing `ctr run --cni`. Everything is this file's own: a
// containerd with its own root, state, socket and config in a temp dir (no CRI
// plugin), in the netns tsctd-h playing the host, and in a private mount
// namespace where the paths ctr's CNI library never lets one change
// (/etc/cni/net.d, /opt/cni/bin, the result cache /var/lib/cni) are this
// test's dirs. ctr runs in the same namespaces, and the runtime is a wrapper
// that execs `node dist/tsrun.js` with its --root moved into the temp dir.
// Names: netns tsctd-h, bridge tsctdbr0, 10.241.2.0/24, containerd namespace
// tsctd, container tsctd-c1, port 8080 inside the container (busybox nc).

const REPO = resolve('.');
const HOST = 'tsctd-h';
const IMAGE = 'docker.io/library/tsctd-busybox:latest';
const ID = 'tsctd-c1';

function missing(): string | undefined {
  if (!isRoot) return 'not root';
  for (const bin of ['containerd', 'ctr', 'containerd-shim-runc-v2']) {
    if (!ok('sh', ['-c', `command -v ${bin}`])) return `${bin} is not installed (scripts/setup.sh installs Debian's containerd)`;
  }
  if (!existsSync('dist/cni-plugin.cjs')) return 'dist/cni-plugin.cjs is missing: npm run build';
  return undefined;
}
const why = missing();

let T: string;
let containerd: ChildProcess | undefined;
let runContainerdExisted = true;
const ctrArgs = () => ['nsenter', `--net=/run/netns/${HOST}`, `--mount=/proc/${containerd!.pid}/ns/mnt`, 'ctr', '-a', join(T, 'containerd.sock'), '-n', 'tsctd'];
const ctr = (args: string[]) => execa(ctrArgs()[0]!, [...ctrArgs().slice(1), ...args], { reject: false });

/** The netns of a process, as the kernel names it ("net:[4026532…]"); undefined once it is gone. */
function netnsOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Pids of the processes still in netns `ns` (every process on the machine is looked at). */
const pidsIn = (ns: string): string[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p) && netnsOf(p) === ns);

/** Mount points (as `root` sees them) of nsfs mounts of netns `ns` in a mountinfo file. */
const nsMountsIn = (mountinfo: string, ns: string, root = ''): string[] =>
  readFileSync(mountinfo, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[3] === ns).map((f) => `${root}${f[4]}`);

// A freed netns's inode number is soon reused (another test file's netns got
// it once), so "gone" is asked of the netns itself: a bridge named MARK marks the
// container's netns, and no process or nsfs mount may still lead to it.
const MARK = 'tsctdmark0';
const marked = (nsPath: string): boolean => ok('nsenter', [`--net=${nsPath}`, 'ip', 'link', 'show', MARK]);

/** An OCI image archive of the busybox rootfs: one uncompressed layer, named for ctr's import. */
function ociArchive(rootfs: string, out: string): void {
  const d = join(T, 'image');
  mkdirSync(join(d, 'blobs/sha256'), { recursive: true });
  const put = (buf: Buffer) => {
    const hex = createHash('sha256').update(buf).digest('hex');
    writeFileSync(join(d, 'blobs/sha256', hex), buf);
    return { digest: `sha256:${hex}`, size: buf.length };
  };
  execaSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', join(T, 'layer.tar'), '.']);
  const layer = put(readFileSync(join(T, 'layer.tar')));
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: { Cmd: ['sh'], Env: ['PATH=/bin:/sbin:/usr/bin'] } })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })));
  writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': IMAGE } }] }));
  writeFileSync(join(d, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  execaSync('tar', ['-C', d, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
}

beforeAll(async () => {
  if (why) return;
  T = mkdtempSync(join(tmpdir(), 'tsctd-'));
  runContainerdExisted = existsSync('/run/containerd');
  for (const d of ['net.d', 'cache', 'ipam', 'tsroot']) mkdirSync(join(T, d));
  const install = await execa(process.execPath, [join(REPO, 'dist/tsrun.js'), 'plugins', 'install', join(T, 'bin')], { reject: false });
  expect(install.exitCode, install.stderr).toBe(0);
  writeFileSync(join(T, 'net.d', '10-tsctd.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'tsctd-net',
    plugins: [
      { type: 'bridge', bridge: 'tsctdbr0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: join(T, 'ipam'), ranges: [[{ subnet: '10.241.2.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
  // the shim passes runc's --root (/run/containerd/runc/<ns>); tsrun keeps its state in the temp dir instead
  writeFileSync(join(T, 'runtime'), [
    '#!/bin/sh',
    'for a do',
    '  shift',
    `  if [ "\${skip:-0}" = 1 ]; then set -- "$@" "${T}/tsroot"; skip=0; continue; fi`,
    `  case "$a" in --root) skip=1; set -- "$@" --root;; --root=*) set -- "$@" "--root=${T}/tsroot";; *) set -- "$@" "$a";; esac`,
    'done',
    `exec ${process.execPath} ${join(REPO, 'dist/tsrun.js')} "$@"`,
    '',
  ].join('\n'));
  chmodSync(join(T, 'runtime'), 0o755);
  writeFileSync(join(T, 'config.toml'), [
    'version = 2', `root = "${T}/root"`, `state = "${T}/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]', `  address = "${T}/containerd.sock"`, '',
  ].join('\n'));
  sh('ip', ['netns', 'add', HOST]);
  sh('ip', ['-n', HOST, 'link', 'set', 'lo', 'up']);
  const binds = [
    `mount --bind ${T}/net.d /etc/cni/net.d`,
    'mount -t tmpfs tsctd /opt', 'mkdir -p /opt/cni/bin', `mount --bind ${T}/bin /opt/cni/bin`,
    `mount --bind ${T}/cache /var/lib/cni`,
    `exec containerd --config ${T}/config.toml`,
  ].join(' && ');
  const log = openSync(join(T, 'containerd.log'), 'w');
  // nsenter and unshare exec (no fork): the pid is containerd's
  containerd = spawn('nsenter', [`--net=/run/netns/${HOST}`, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', binds], { stdio: ['ignore', log, log] });
  for (let i = 0; i < 100 && (await ctr(['version'])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  ociArchive(join(REPO, 'bundles/busybox/rootfs'), join(T, 'busybox.tar'));
});

afterAll(async () => {
  if (why) return;
  if (containerd?.pid && containerd.exitCode === null) {
    await ctr(['task', 'kill', '-s', 'KILL', ID]);
    await ctr(['task', 'delete', '--force', ID]);
    await ctr(['container', 'rm', ID]);
    const exited = new Promise((r) => containerd!.once('exit', r));
    process.kill(containerd.pid, 'SIGTERM');
    await exited;
  }
  ok('ip', ['netns', 'del', HOST]);
  if (!runContainerdExisted) rmSync('/run/containerd', { recursive: true, force: true }); // the shim's sockets, ctr's fifos
  rmSync(T, { recursive: true, force: true });
});

describe.skipIf(why !== undefined)(`containerd: ctr run --cni with tsrun as the runtime and tsrun's installed plugins${why ? ` (skipped: ${why})` : ''}`, () => {
  it('the container gets an address, the host reaches it, and after the task is killed nothing is left', async () => {
    const imported = await ctr(['image', 'import', '--snapshotter', 'native', join(T, 'busybox.tar')]);
    expect(imported.exitCode, imported.stderr).toBe(0);
    const serve = 'ip -4 -o addr show eth0; while true; do echo tsctd-hello | nc -l -p 8080; done';
    const run: ResultPromise = execa(ctrArgs()[0]!, [...ctrArgs().slice(1), 'run', '--snapshotter', 'native', '--runc-binary', join(T, 'runtime'), '--cni', IMAGE, ID, 'sh', '-c', serve], { reject: false, all: true });
    let out = '';
    run.all!.on('data', (b: Buffer) => (out += b.toString()));
    for (let i = 0; i < 200 && !/inet 10\.241\.2\.\d+/.test(out) && run.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    const ip = /inet (10\.241\.2\.\d+)\/24/.exec(out)?.[1];
    expect(ip, out).toBeDefined();
    // ctr hands the plugins /proc/<pid>/ns/net: that netns lives as long as a process or a mount holds it
    const pid = new RegExp(`^${ID}\\s+(\\d+)\\s`, 'm').exec((await ctr(['task', 'ls'])).stdout)?.[1];
    expect(pid).toBeDefined();
    const ns = netnsOf(pid!);
    expect(ns).toMatch(/^net:\[\d+\]$/);
    expect(ns).not.toBe(netnsOf(String(containerd!.pid)));
    expect(pidsIn(ns!)).toContain(pid);
    expect(ok('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'link', 'add', MARK, 'type', 'bridge'])).toBe(true);
    expect(marked(`/proc/${pid}/ns/net`)).toBe(true);

    // the host side as tsrun's plugins left it: a veth on the bridge, the IP file, the cached result, the masquerade chain
    expect(sh('ip', ['-n', HOST, '-o', 'link', 'show', 'master', 'tsctdbr0'])).toMatch(/veth/);
    expect(readFileSync(join(T, 'ipam', 'tsctd-net', ip!), 'utf8')).toMatch(/^tsctd-tsctd-c1\r?\neth0$/);
    expect(readdirSync(join(T, 'cache', 'results'))).toHaveLength(1);
    expect(sh('ip', ['netns', 'exec', HOST, 'iptables', '-t', 'nat', '-S'])).toContain(`-A POSTROUTING -s ${ip}/32`);
    let page = '';
    let why = '';
    for (let i = 0; i < 20 && page !== 'tsctd-hello'; i++) {
      const r = await execa('ip', ['netns', 'exec', HOST, 'busybox', 'nc', '-w', '2', ip!, '8080'], { reject: false, input: '' });
      [page, why] = [r.stdout.trim(), r.stderr];
      if (page !== 'tsctd-hello') await new Promise((res) => setTimeout(res, 200)); // nc restarts its listener in a loop
    }
    expect(page, `${why}\n${out}`).toBe('tsctd-hello');

    // kill the task: ctr run sees it exit, removes the network (CNI DEL) and deletes the task
    expect((await ctr(['task', 'kill', '-s', 'KILL', ID])).exitCode).toBe(0);
    await run;
    expect((await ctr(['container', 'rm', ID])).exitCode).toBe(0);
    expect(sh('ip', ['-n', HOST, '-o', 'link']).split('\n').filter((l) => l.includes('veth'))).toEqual([]);
    expect(sh('ip', ['-n', HOST, '-o', 'link', 'show', 'master', 'tsctdbr0'])).toBe('');
    expect(readdirSync(join(T, 'ipam', 'tsctd-net')).filter((f) => f.startsWith('10.'))).toEqual([]);
    expect(readdirSync(join(T, 'cache', 'results'))).toEqual([]);
    const nat = sh('ip', ['netns', 'exec', HOST, 'iptables', '-t', 'nat', '-S']);
    expect(nat).not.toContain('10.241.2.');
    expect(nat.split('\n').filter((l) => /^-N CNI-[0-9a-f]{20,}$/.test(l))).toEqual([]);
    expect(readdirSync(join(T, 'tsroot')).filter((f) => f.includes(ID))).toEqual([]);
    // the container's netns is gone: no process is left in it, and no nsfs mount of it pins it (host's or containerd's mounts)
    const holders = [
      ...pidsIn(ns!).map((p) => `/proc/${p}/ns/net`),
      ...nsMountsIn('/proc/self/mountinfo', ns!),
      ...nsMountsIn(`/proc/${containerd!.pid}/mountinfo`, ns!, `/proc/${containerd!.pid}/root`),
    ];
    expect(holders.filter(marked)).toEqual([]);
  });
});
