import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, Scratch, isRoot, keyValues, runOk, tsrun, ROOTFS, type Config, type Result } from '../helpers/bundle.js';
import { killLeftovers, leaks, mountsUnder, nodeIdentity, trackSession } from '../helpers/leak-check.js';

// Issue 8's hardened defaults, proven from inside a container run as root.
// Ids start with sec8-. Everything a container may write or mount over lives
// in this file's scratch dir: rootfs copies and "outside" escape targets sit
// on a private tmpfs mounted there (so even a remount of "/" with
// CAP_SYS_ADMIN only reconfigures that tmpfs, never a host filesystem).
// The shared busybox rootfs is only used read-only.

const scratch = isRoot ? new Scratch('sec8') : undefined;
const root = scratch?.root ?? '';
const fsDir = scratch ? join(scratch.dir, 'fs') : '';
const SECCOMP_JSON = '/usr/share/containers/seccomp.json';
let hostNull = '';
let spec: Config;
let n = 0;
const id = (): string => `sec8-${++n}`;

const caps = (list: string[]) => ({ bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] });
const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const CAP_BITS: Record<string, number> = { CAP_CHOWN: 0, CAP_KILL: 5, CAP_NET_BIND_SERVICE: 10, CAP_AUDIT_WRITE: 29 };
const hex = (list: string[]) => list.reduce((m, c) => m | (1n << BigInt(CAP_BITS[c]!)), 0n).toString(16).padStart(16, '0');
const tmpfsAt = (destination: string) => ({ destination, type: 'tmpfs', source: 'tmpfs', options: ['mode=1777'] });

/** The busybox config with `tsrun spec`'s hardening (caps, no_new_privs, masked and readonly paths), then `edit`. */
function hardened(c: Config): void {
  c.process.capabilities = spec.process.capabilities;
  c.process.noNewPrivileges = spec.process.noNewPrivileges;
  c.linux.maskedPaths = spec.linux.maskedPaths;
  c.linux.readonlyPaths = spec.linux.readonlyPaths;
}

function inside(script: string, edit?: (c: Config) => void): string {
  return runOk(
    root,
    scratch!.bundle(['sh', '-c', script], (c) => {
      hardened(c);
      edit?.(c);
    }),
    id(),
  );
}

/** A private copy of the busybox rootfs on this file's tmpfs. */
function rootfsCopy(name: string): string {
  const dest = join(fsDir, name);
  const r = spawnSync('cp', ['-a', ROOTFS, dest]);
  if (r.status !== 0) throw new Error(`cp -a ${ROOTFS} ${dest}: ${r.stderr}`);
  return dest;
}

/** Runs the CLI with pipes for stdio and `extra` as its fds 3, 4, …; resolves with its output. */
function tsrunPiped(args: string[], extra: number[]): Promise<Result> {
  const child = spawn(process.execPath, [CLI, '--root', root, ...args], { stdio: ['pipe', 'pipe', 'pipe', ...extra], detached: true });
  trackSession(child.pid);
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
}

beforeAll(() => {
  if (!scratch) return;
  hostNull = nodeIdentity('/dev/null');
  const specDir = scratch.mkdir('spec');
  const r = tsrun(root, ['spec', '-b', specDir]);
  expect(r.code).toBe(0);
  spec = JSON.parse(readFileSync(join(specDir, 'config.json'), 'utf8'));
  mkdirSync(fsDir);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=755', 'sec8-fs', fsDir]);
  if (m.status !== 0) throw new Error(`mount tmpfs on ${fsDir}: ${m.stderr}`);
  spawnSync('mount', ['--make-private', fsDir]);
});

afterAll(() => {
  if (!scratch) return;
  for (let i = 1; i <= n; i++) tsrun(root, ['delete', '--force', `sec8-${i}`]);
  killLeftovers();
  spawnSync('umount', [fsDir]);
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  // A container must never change a host file: the host's /dev/null keeps owner and mode.
  expect(nodeIdentity('/dev/null')).toBe(hostNull);
  expect(hostNull).toMatch(/^0:0 20666 /);
  scratch.remove();
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot)('hardened defaults (issue 8), from inside the container', () => {
  // "Capabilities exactly as configured, no more" (CapEff/CapPrm/CapBnd = the
  // configured mask, CapInh/CapAmb 0) is proven by runtime-features.test.ts's
  // first test; this file does not repeat it.

  it('drops the bounding set to the default caps, and a dropped capability cannot be used (chown → EPERM)', () => {
    expect(spec.process.capabilities.bounding).toEqual(DEFAULT_CAPS);
    const script = [
      'grep -E "^Cap(Bnd|Eff|Prm|Inh|Amb):" /proc/self/status | tr -d "\\t" | sed "s/:/=/"',
      'echo 1bnd=$(grep CapBnd /proc/1/status | cut -f2)',
      'touch /tmp/f',
      'echo chown=$(chown 1000:1000 /tmp/f 2>&1 && echo ok)',
      'echo owner=$(stat -c %u:%g /tmp/f)',
    ].join('; ');
    const kv = keyValues(inside(script, (c) => c.mounts.push(tmpfsAt('/tmp'))));
    expect(kv.CapBnd).toBe(hex(DEFAULT_CAPS));
    expect(kv['1bnd']).toBe(hex(DEFAULT_CAPS));
    expect({ eff: kv.CapEff, prm: kv.CapPrm, inh: kv.CapInh, amb: kv.CapAmb }).toEqual({
      eff: hex(DEFAULT_CAPS),
      prm: hex(DEFAULT_CAPS),
      inh: hex([]),
      amb: hex([]),
    });
    expect(kv.chown).toContain('Operation not permitted');
    expect(kv.owner).toBe('0:0');
    // The control: with CAP_CHOWN configured, the same chown works.
    const granted = keyValues(inside(script, (c) => {
      c.mounts.push(tmpfsAt('/tmp'));
      c.process.capabilities = caps(['CAP_CHOWN']);
    }));
    expect(granted.CapBnd).toBe(hex(['CAP_CHOWN']));
    expect(granted.chown).toBe('ok');
    expect(granted.owner).toBe('1000:1000');
  });

  it('sets no_new_privs with the default config', () => {
    expect(spec.process.noNewPrivileges).toBe(true);
    const kv = keyValues(inside('grep NoNewPrivs /proc/self/status | tr -d "\\t" | sed "s/:/=/"'));
    expect(kv.NoNewPrivs).toBe('1');
  });

  it("masks every path of `tsrun spec`'s maskedPaths (files read empty, dirs are empty)", () => {
    const masked: string[] = spec.linux.maskedPaths;
    expect(masked).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']));
    const script = masked
      .map((p) => `if [ -d ${p} ]; then echo "${p}=dir $(ls -A ${p} | wc -l)"; elif [ -e ${p} ]; then echo "${p}=file $(cat ${p} | wc -c)"; else echo "${p}=missing"; fi`)
      .join('; ');
    const kv = keyValues(inside(script));
    for (const p of masked) {
      if (!existsSync(p)) expect([`missing`, 'file 0', 'dir 0'], p).toContain(kv[p]);
      else expect(kv[p], p).toBe(`${readdirIfDir(p) ? 'dir' : 'file'} 0`);
    }
    // The control: unmasked, the same container sees content there (so the check above can fail).
    const open = keyValues(inside(script, (c) => (c.linux.maskedPaths = [])));
    expect(open['/sys/firmware']).toMatch(/^dir [1-9]/);
    expect(open['/proc/keys']).toMatch(/^file [1-9]/);
    expect(open['/proc/timer_list']).toMatch(/^file [1-9]/);
  });

  it('makes the default readonlyPaths read-only; /proc/sys is writable only when not configured', () => {
    const ro: string[] = spec.linux.readonlyPaths;
    expect(ro).toContain('/proc/sys');
    // Only namespaced sysctls are written (uts, net), so a failure of this test cannot change the host.
    const script = [
      'echo hostname=$(echo sec8 2>&1 > /proc/sys/kernel/hostname && echo ok)',
      'echo ipfwd=$(echo 1 2>&1 > /proc/sys/net/ipv4/ip_forward && echo ok)',
      ...ro.map((p) => `echo "${p}=$(awk '$5 == "${p}" { split($6, o, ","); print o[1] }' /proc/self/mountinfo)"`),
    ].join('; ');
    const kv = keyValues(inside(script));
    expect(kv.hostname).toContain('Read-only file system');
    expect(kv.ipfwd).toContain('Read-only file system');
    for (const p of ro) if (existsSync(p)) expect(kv[p], p).toBe('ro');
    // The control: without /proc/sys in readonlyPaths (and with CAP_NET_ADMIN, which net sysctls need) the write works.
    const open = keyValues(inside(script, (c) => {
      c.linux.readonlyPaths = ro.filter((p) => p !== '/proc/sys');
      c.process.capabilities = caps([...DEFAULT_CAPS, 'CAP_NET_ADMIN']);
    }));
    expect(open.ipfwd).toBe('ok');
    expect(open['/proc/sys']).toBe('');
    expect(open['/proc/irq']).toBe('ro');
  });

  it('leaks no host fds when the CLI has pipes for stdio and extra open fds (run, and exec into a running container)', async () => {
    const dirFd = openSync(scratch!.dir, 'r'); // a directory fd would let the container walk the host
    const fileFd = openSync(join(scratch!.dir, 'fd-leak'), 'w');
    try {
      const run = await tsrunPiped(['run', '-b', scratch!.bundle(['ls', '/proc/self/fd'], hardened), id()], [dirFd, fileFd]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2', '3']); // 3: ls's own directory fd
      const cid = id();
      // Detached, the container keeps the CLI's stdio: files here, so nothing waits for it to exit.
      const up = tsrun(root, ['run', '-d', '-b', scratch!.bundle(['sleep', '30'], hardened), cid], { extraFds: [dirFd, fileFd] });
      expect(up.code, up.stderr).toBe(0);
      const pid1 = await tsrunPiped(['exec', cid, 'ls', '/proc/1/fd'], [dirFd, fileFd]);
      const ex = await tsrunPiped(['exec', cid, 'ls', '/proc/self/fd'], [fileFd, dirFd, fileFd]);
      expect(pid1.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2']);
      expect(ex.stderr).toBe('');
      expect(ex.code).toBe(0);
      expect(ex.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2', '3']);
      expect(tsrun(root, ['delete', '--force', cid]).code).toBe(0);
    } finally {
      closeSync(dirFd);
      closeSync(fileFd);
    }
  });

  it('has only the default devices in /dev, and the devices cgroup refuses a node it does not allow', () => {
    const listed = keyValues(inside('echo dev=$(ls -A /dev | sort | tr "\\n" " ")')).dev!.trim().split(' ');
    const want = ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'];
    if (existsSync('/proc/kcore')) want.push('core');
    expect(listed).toEqual(want.sort());
    for (const host of ['sda', 'vda', 'kmsg', 'mem', 'port', 'fuse', 'loop0']) expect(listed).not.toContain(host);
    // /dev/fuse (10:229) is not in the allow list and opening it needs no capability, so
    // EPERM can only come from the devices cgroup (/dev/mem would need CAP_SYS_RAWIO too).
    const script = [
      'cd /tmp',
      'mknod fuse c 10 229 && mknod nul c 1 3',
      'echo nul=$( (exec 3<nul) 2>&1 && echo opened)',
      'echo fuse=$( (exec 3<fuse) 2>&1 && echo opened)',
      'echo rules=$(cat /sys/fs/cgroup/devices/devices.list 2>/dev/null | tr "\\n" ",")',
    ].join('; ');
    const withMknod = (c: Config) => {
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' }); // no nodev: the cgroup decides
      c.process.capabilities = caps([...DEFAULT_CAPS, 'CAP_MKNOD']);
    };
    const kv = keyValues(inside(script, withMknod));
    expect(kv.nul).toBe('opened');
    expect(kv.fuse).toContain('Operation not permitted');
    if (existsSync('/sys/fs/cgroup/devices')) {
      expect(kv.rules).toContain('c 1:3 rwm');
      expect(kv.rules).not.toContain('a *:* rwm');
      expect(kv.rules).not.toContain('c 10:229');
    }
    // The control: a config that allows every device opens the same node.
    const open = keyValues(inside(script, (c) => {
      withMknod(c);
      c.linux.resources.devices = [{ allow: true, access: 'rwm' }];
    }));
    expect(open.fuse).toBe('opened');
    expect(nodeIdentity('/dev/null')).toBe(hostNull);
  });

  it('cannot remount a read-only rootfs read-write without CAP_SYS_ADMIN; with it, it can (as with runc)', () => {
    const rootfs = rootfsCopy('rootfs-remount');
    const script = [
      'echo remount=$(mount -o remount,rw / 2>&1 && echo ok)',
      'echo bind-remount=$(mount -o remount,bind,rw / 2>&1 && echo ok)',
      "echo opts=$(awk '$2 == \"/\" { split($4, o, \",\"); print o[1] }' /proc/mounts)",
      'echo write=$(touch /sec8-written 2>&1 && echo ok)',
    ].join('; ');
    const kv = keyValues(inside(script, (c) => (c.root = { path: rootfs, readonly: true })));
    expect(kv.remount).toMatch(/permission denied|Operation not permitted/i);
    expect(kv['bind-remount']).toMatch(/permission denied|Operation not permitted/i);
    expect(kv.opts).toBe('ro');
    expect(kv.write).toContain('Read-only file system');
    expect(existsSync(join(rootfs, 'sec8-written'))).toBe(false);
    // Finding (documented, not fixed): root.readonly is a MS_RDONLY flag on the container's own
    // bind mount, made in a mount namespace the container's root owns, so CAP_SYS_ADMIN may
    // clear it. runc and crun behave the same; only a user namespace (flags locked when a
    // mount is copied into a less privileged namespace) or a seccomp/LSM policy stops it.
    const admin = keyValues(inside(script, (c) => {
      c.root = { path: rootfs, readonly: true };
      c.process.capabilities = caps([...DEFAULT_CAPS, 'CAP_SYS_ADMIN']);
    }));
    expect(admin.remount).toBe('ok');
    expect(admin.write).toBe('ok');
    expect(existsSync(join(rootfs, 'sec8-written'))).toBe(true);
  });

  it("cannot see host processes: pid 1 is the container's process and /proc holds only its pids", () => {
    const out = inside(['echo self=$$', 'echo comm1=$(cat /proc/1/comm)', 'echo pids=$(ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " ")', 'echo ps=$(ps -o pid | tail -n +2 | sort -n | tr "\\n" " ")'].join('; '));
    const kv = keyValues(out);
    expect(kv.self).toBe('1');
    expect(kv.comm1).toBe('sh');
    const pids = kv.pids!.trim().split(' ').map(Number);
    // sh (1) and the few processes of this script (subshell, ls, grep, sort, tr); nothing of the host's
    const hostPids = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
    expect(hostPids).toBeGreaterThan(20);
    expect(pids[0]).toBe(1);
    expect(pids.length).toBeLessThanOrEqual(8);
    expect(pids.every((p) => p < 100)).toBe(true);
    expect(pids).not.toContain(process.pid);
    const ps = kv.ps!.trim().split(' ').map(Number);
    expect(ps[0]).toBe(1);
    expect(ps.length).toBeLessThanOrEqual(8);
    expect(ps.every((p) => p < 100)).toBe(true);
  });

  it('cannot reach the state root, /run/tsrun or the bundle dir', () => {
    const marker = `sec8-marker-${process.pid}`;
    writeFileSync(join(root, marker), '');
    const bundle = scratch!.bundle(
      [
        'sh',
        '-c',
        [
          `echo root=$(ls ${root} 2>&1 >/dev/null || echo gone)`,
          `echo bundle=$(ls BUNDLE 2>&1 >/dev/null || echo gone)`,
          'echo run-tsrun=$(ls /run/tsrun 2>&1 >/dev/null || echo gone)',
          `echo found=$(find / -path /proc -prune -o -path /sys -prune -o -name "${marker}*" -print 2>/dev/null | tr "\\n" " ")`,
          'echo cwd=$(readlink /proc/1/cwd)',
          'echo root1=$(readlink /proc/1/root)',
        ].join('; '),
      ],
      hardened,
    );
    writeFileSync(join(bundle, marker), '');
    const config = join(bundle, 'config.json');
    writeFileSync(config, readFileSync(config, 'utf8').replace('BUNDLE', bundle));
    try {
      const kv = keyValues(runOk(root, bundle, id()));
      expect(kv.root).toContain('gone');
      expect(kv.bundle).toContain('gone');
      expect(kv['run-tsrun']).toContain('gone');
      expect(kv.found).toBe('');
      expect(kv.cwd).toBe('/');
      expect(kv.root1).toBe('/');
    } finally {
      spawnSync('rm', ['-f', join(root, marker)]);
    }
  });

  it('resolves mount destinations through rootfs symlinks inside the root (no escape to the host)', () => {
    const rootfs = rootfsCopy('rootfs-escape');
    const targets = ['abs-dotdot', 'abs', 'rel', 'chain'].map((t) => join(fsDir, `outside-${t}`));
    for (const t of targets) mkdirSync(t);
    const [absDotdot, abs, rel, chain] = targets as [string, string, string, string];
    const src = join(fsDir, 'bind-src');
    mkdirSync(src);
    writeFileSync(join(src, 'marker'), 'bound\n');
    // Each link, followed on the host, would reach one of the outside-* dirs next to the rootfs copy.
    symlinkSync(`/../../../..${absDotdot}`, join(rootfs, 'etc/x1'));
    symlinkSync(abs, join(rootfs, 'etc/x2'));
    symlinkSync('../../outside-rel', join(rootfs, 'etc/x3'));
    symlinkSync('x4b', join(rootfs, 'etc/x4'));
    symlinkSync('/etc/x4c', join(rootfs, 'etc/x4b'));
    symlinkSync('../../outside-chain', join(rootfs, 'etc/x4c'));
    // Where each destination must land, inside the root.
    const landed = [`${absDotdot}/sub`, `${abs}/sub`, '/outside-rel/sub', '/outside-chain/sub'];
    const out = inside(
      [
        `awk '{ for (i = 7; i < NF; i++) if ($i == "-") { print "mp" NR "=" $5 " " $(i + 1); break } }' /proc/self/mountinfo`,
        ...landed.map((p, i) => `echo at${i + 1}=$(stat -f -c %T ${p})`),
        `echo marker=$(cat ${landed[3]}/marker)`,
      ].join('; '),
      (c) => {
        c.root = { path: rootfs, readonly: true };
        c.mounts.push(
          { destination: '/etc/x1/sub', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/etc/x2/sub', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/etc/x3/sub', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/etc/x4/sub', type: 'bind', source: src, options: ['rbind', 'ro'] },
        );
      },
    );
    const kv = keyValues(out);
    const mountPoints = Object.entries(kv).filter(([k]) => k.startsWith('mp')).map(([, v]) => v);
    for (const p of landed.slice(0, 3)) expect(mountPoints).toContain(`${p} tmpfs`);
    expect(mountPoints.some((m) => m.startsWith(`${landed[3]} `))).toBe(true);
    expect(kv.marker).toBe('bound');
    for (let i = 1; i <= 3; i++) expect(kv[`at${i}`]).toBe('tmpfs');
    // On the host: the outside targets are untouched and nothing is mounted under the scratch dir but our tmpfs.
    for (const t of targets) expect(readdirSync(t), t).toEqual([]);
    expect(mountsUnder(scratch!.dir)).toEqual([fsDir]);
    expect(existsSync(join(rootfs, 'outside-rel/sub'))).toBe(true);
    expect(existsSync(join(rootfs, abs, 'sub'))).toBe(true);
  });

  it.skipIf(!existsSync(SECCOMP_JSON))(`runs a normal busybox workload under podman's default seccomp profile (${SECCOMP_JSON})`, () => {
    const profile = podmanProfile(JSON.parse(readFileSync(SECCOMP_JSON, 'utf8')), DEFAULT_CAPS);
    const kv = keyValues(
      inside(
        [
          'grep -E "^Seccomp:" /proc/self/status | tr -d "\\t" | sed "s/:/=/"',
          'echo ls=$(ls / >/dev/null && echo ok)',
          'echo mkdir=$(mkdir -p /tmp/a/b && echo hi > /tmp/a/b/f && cat /tmp/a/b/f)',
          'echo ps=$(ps | wc -l)',
          'echo pipe=$(seq 1 100 | sort -rn | head -1)',
          'echo sleep=$(sleep 0.1 && echo ok)',
          'echo date=$(date +%Y >/dev/null && echo ok)',
          'echo chroot=$(chroot / true 2>&1 && echo ok)',
        ].join('; '),
        (c) => {
          c.mounts.push(tmpfsAt('/tmp'));
          c.linux.seccomp = profile;
        },
      ),
    );
    expect(kv.Seccomp).toBe('2');
    expect(kv.ls).toBe('ok');
    expect(kv.mkdir).toBe('hi');
    expect(Number(kv.ps)).toBeGreaterThanOrEqual(3);
    expect(kv.pipe).toBe('100');
    expect(kv.sleep).toBe('ok');
    expect(kv.date).toBe('ok');
    expect(kv.chroot).toContain('Operation not permitted'); // no CAP_SYS_CHROOT, and the profile denies it
  });
});

function readdirIfDir(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}

interface PodmanRule {
  names: string[];
  action: string;
  args?: unknown[] | null;
  includes?: { caps?: string[]; arches?: string[] };
  excludes?: { caps?: string[]; arches?: string[] };
  [k: string]: unknown;
}

/**
 * containers-common's seccomp.json → an OCI linux.seccomp, as podman does it:
 * rules whose includes/excludes (caps, arches) do not match the container are
 * dropped, archMap gives the architectures, and the non-OCI keys go.
 */
function podmanProfile(p: Config, granted: string[]): Config {
  const arch = 'amd64';
  const hasAll = (l?: string[]) => !l?.length || l.every((c) => granted.includes(c));
  const hasAny = (l?: string[]) => !!l?.some((c) => granted.includes(c));
  const syscalls = (p.syscalls as PodmanRule[])
    .filter((s) => hasAll(s.includes?.caps) && (!s.includes?.arches?.length || s.includes.arches.includes(arch)))
    .filter((s) => !hasAny(s.excludes?.caps) && !s.excludes?.arches?.includes(arch))
    .map(({ includes: _i, excludes: _e, comment: _c, args, ...rest }) => (args ? { ...rest, args } : rest));
  const x86 = (p.archMap as { architecture: string; subArchitectures?: string[] }[]).find((a) => a.architecture === 'SCMP_ARCH_X86_64');
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: x86 ? [x86.architecture, ...(x86.subArchitectures ?? [])] : ['SCMP_ARCH_X86_64'],
    syscalls,
  };
}
