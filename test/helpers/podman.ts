import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, ROOTFS } from './bundle.js';

// Podman (Debian's 4.3, with conmon and the CNI backend) driving a runtime,
// with everything of its own in a temp dir: storage (--root/--runroot, vfs),
// tmp_dir, volumes, events, containers.conf (CONTAINERS_CONF), the CNI config
// dir with one bridge network of the test file's own, host-local's IPAM store.
// Never the host's /var/lib/containers, /etc/cni/net.d or default network.

export const TSRUN_BIN = join(REPO, 'dist/tsrun.js');
export const IMAGE = 'localhost/busybox:tsrun';

export interface PodmanNet {
  /** CNI network (and conflist) name; also the default network of this env */
  name: string;
  /** Linux bridge name, unique to the test file */
  bridge: string;
  /** first three octets of a private /24, e.g. "10.247.7" */
  prefix: string;
}

export interface PodmanResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function havePodman(): string | undefined {
  for (const bin of ['podman', 'conmon', 'tmux']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed (scripts/setup.sh installs it)`;
  }
  if (!existsSync('/usr/lib/cni/bridge')) return 'containernetworking-plugins is not installed';
  if (!existsSync(TSRUN_BIN)) return 'dist/tsrun.js is missing: npm run build';
  return undefined;
}

/** The rlimits this process may set (no CAP_SYS_RESOURCE here): podman would otherwise ask for nofile=1048576. */
function hardLimit(name: string): string {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.trim().split(/\s{2,}/)[2];
  return hard && hard !== 'unlimited' ? hard : '1048576';
}

export class PodmanEnv {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly globals: string[];

  constructor(
    tag: string,
    readonly runtime: 'tsrun' | 'runc',
    readonly net: PodmanNet,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `tsrun-podman-${tag}-`));
    const d = (sub: string): string => {
      const p = join(this.dir, sub);
      mkdirSync(p, { recursive: true });
      return p;
    };
    const nofile = hardLimit('Max open files');
    const conf = [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=4096:4096"]`,
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${d('cni')}"`,
      `default_network = "${net.name}"`,
      'cni_plugin_dirs = ["/usr/lib/cni"]',
      '[engine]',
      `runtime = "${runtime}"`,
      'runtime_supports_json = ["tsrun", "runc"]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${d('tmp')}"`,
      `static_dir = "${join(this.dir, 'root/libpod')}"`,
      `volume_path = "${join(this.dir, 'root/volumes')}"`,
      '[engine.runtimes]',
      `tsrun = ["${TSRUN_BIN}"]`,
      'runc = ["/usr/bin/runc", "/usr/sbin/runc"]',
      '',
    ].join('\n');
    writeFileSync(join(this.dir, 'containers.conf'), conf);
    // podman's own bridge network as `podman network create` writes it, with our
    // bridge name, no default route (nothing may leave the machine) and no
    // masquerade; IPAM state in our dir instead of /var/lib/cni/networks.
    const conflist = {
      cniVersion: '0.4.0',
      name: net.name,
      plugins: [
        {
          type: 'bridge', bridge: net.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
          ipam: { type: 'host-local', dataDir: d('ipam'), ranges: [[{ subnet: `${net.prefix}.0/24`, gateway: `${net.prefix}.1` }]] },
          capabilities: { ips: true },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'firewall', backend: '' },
        { type: 'tuning' },
      ],
    };
    writeFileSync(join(this.dir, 'cni', `${net.name}.conflist`), JSON.stringify(conflist, null, 2));
    this.env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CONTAINERS_CONF: join(this.dir, 'containers.conf'),
      TMPDIR: d('vartmp'),
      HOME: d('home'),
      LANG: 'C',
    };
    this.globals = ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  }

  /** The command line of `podman ARGS` in this env (for tmux). */
  commandLine(args: string[]): string {
    const env = Object.entries(this.env).map(([k, v]) => `${k}=${quote(v!)}`);
    return ['env', '-i', ...env, 'podman', ...this.globals, ...args].map((a, i) => (i < 2 + env.length ? a : quote(a))).join(' ');
  }

  podman(args: string[], o: { input?: string; timeoutMs?: number } = {}): PodmanResult {
    const r = spawnSync('podman', [...this.globals, ...args], {
      // conmon writes an `oom` file into its working directory: keep it in ours
      cwd: this.dir,
      env: this.env,
      input: o.input ?? '',
      encoding: 'utf8',
      timeout: o.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** `podman ARGS`, which must succeed; returns stdout. */
  ok(args: string[], input?: string): string {
    const r = this.podman(args, { input });
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * The test image from the busybox rootfs, by `podman import` of a tarball.
   * containers/image keeps its blob-info cache in /var/lib/containers/cache for
   * root, whatever --root says: the import runs in a private mount namespace
   * where /var/lib/containers (or /var/lib, when it has none) is a throwaway tmpfs.
   */
  importImage(): void {
    const tar = join(this.dir, 'rootfs.tar');
    const t = spawnSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', tar, '.'], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
    const podman = ['podman', ...this.globals, 'import', '--change', 'CMD ["/bin/sh"]', tar, IMAGE].map(quote).join(' ');
    // A directory made here would be made on the host: cover /var/lib itself when it has no containers dir.
    const script = `set -e; if [ -d /var/lib/containers ]; then d=/var/lib/containers; else d=/var/lib; fi; mount -t tmpfs -o size=16m tmpfs "$d"; exec ${podman}`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`podman import exited ${r.status}: ${r.stderr}`);
  }

  /** Full ids of every container podman knows in this env. */
  containerIds(): string[] {
    return this.ok(['ps', '-a', '-q', '--no-trunc']).split('\n').filter(Boolean);
  }

  /** podman rm -af on this env's storage, then the temp dir. */
  remove(): void {
    this.podman(['rm', '-a', '-f', '-t', '0'], { timeoutMs: 120_000 });
    this.podman(['rmi', '-a', '-f']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Live processes whose command line mentions `needle` (e.g. conmon of our containers). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out.filter((p) => p !== process.pid);
}

/** /run/netns entries (podman's CNI netns are netns-<uuid>). */
export function netnsNames(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns') : [];
}

/** iptables -S of both tables we can touch. */
export function iptablesDump(): string {
  return ['filter', 'nat'].map((t) => spawnSync('iptables', ['-t', t, '-S'], { encoding: 'utf8' }).stdout).join('');
}

/** Cgroup directories (any v1 hierarchy or cgroup2) named for a container id. */
export function cgroupsOf(id: string): string[] {
  const found: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    for (const parent of ['libpod_parent', 'machine.slice']) {
      const dir = join('/sys/fs/cgroup', h, parent);
      if (!existsSync(dir)) continue;
      for (const e of readdirSync(dir)) if (e.includes(id)) found.push(join(dir, e));
    }
  }
  return found;
}

/** podman's cgroupfs parents (libpod_parent, with conmon's cgroup in it) on every hierarchy. */
export function podmanParentCgroups(): string[] {
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
  return roots.map((r) => join(r, 'libpod_parent')).filter((d) => existsSync(d));
}

/**
 * Removes podman's parent cgroups (podman never does). rmdir of a cgroup that
 * still has processes or children fails, so one in use by another podman stays.
 */
export function removeParentCgroups(): string[] {
  const left: string[] = [];
  for (const dir of podmanParentCgroups()) {
    for (const d of [join(dir, 'conmon'), dir]) {
      try {
        if (existsSync(d)) rmdirSync(d);
      } catch {
        left.push(d);
      }
    }
  }
  return left;
}

/**
 * An exclusive flock held by a child `flock … cat` until release() closes its
 * stdin. Runs of this file in other checkouts or suites on the same machine
 * share the bridge name, subnet and host port: they wait for each other.
 */
export async function holdLock(file: string, timeoutSec: number): Promise<() => Promise<void>> {
  const child = spawn('flock', ['-x', '-w', String(timeoutSec), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock ${file} (waited ${timeoutSec}s): exit ${code} ${stderr}`)));
  });
  return async () => {
    child.stdin!.end();
    await exited;
  };
}
