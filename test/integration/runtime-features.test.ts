import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scratch, isRoot, keyValues, runOk, tsrun, ROOTFS, type Config } from '../helpers/bundle.js';
import { killLeftovers, leaks, nodeIdentity } from '../helpers/leak-check.js';

// What the container sees, checked from inside it through `tsrun run` as root.
// Ids start with rt-feat-; the state root and every bind source live in this
// file's scratch dir; the shared busybox rootfs is only ever mounted read-only.

const scratch = isRoot ? new Scratch('rt-feat') : undefined;
const root = scratch?.root ?? '';
let hostNull = '';
let n = 0;
const id = (): string => `rt-feat-${++n}`;

/** Runs `script` with sh in a container made from the busybox config plus `edit`. */
function inside(script: string, edit?: (c: Config) => void): string {
  return runOk(root, scratch!.bundle(['sh', '-c', script], edit), id());
}

const caps = (list: string[]) => ({ bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] });
const CAP_KILL = 1n << 5n;
const CAP_NET_BIND_SERVICE = 1n << 10n;
const CAP_DAC_READ_SEARCH = 1n << 2n;
const hex = (mask: bigint) => mask.toString(16).padStart(16, '0');

beforeAll(() => {
  if (isRoot) hostNull = nodeIdentity('/dev/null');
});

afterAll(() => {
  if (!scratch) return;
  for (let i = 1; i <= n; i++) tsrun(root, ['delete', '--force', `rt-feat-${i}`]);
  const left = leaks({ root, dirs: [scratch.dir, ROOTFS] });
  killLeftovers();
  // A container must never change a host file: the host's /dev/null keeps owner and mode.
  expect(nodeIdentity('/dev/null')).toBe(hostNull);
  expect(hostNull).toMatch(/^0:0 20666 /);
  scratch.remove();
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot)('runtime features, from inside the container', () => {
  it('runs the process as pid 1 with the hostname, domainname, caps, rlimits, env, cwd and no_new_privs of the config', () => {
    const out = inside(
      [
        'echo pid=$$',
        'echo ppid=$PPID',
        'echo hostname=$(hostname)',
        'echo domainname=$(cat /proc/sys/kernel/domainname)',
        'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Uid|Gid):" /proc/self/status | tr -d "\\t" | sed "s/:/=/"',
        'echo nofile=$(ulimit -n)/$(ulimit -Hn)',
        'echo core=$(ulimit -c)',
        'echo umask=$(umask)',
        'echo id=$(id)',
        'echo cwd=$(pwd)',
        'echo home=$HOME',
        'echo foo=$FOO',
        'echo ipfwd=$(cat /proc/sys/net/ipv4/ip_forward)',
      ].join('; '),
      (c) => {
        c.hostname = 'rt-feat-host';
        c.domainname = 'rt-feat.example';
        c.process.env.push('FOO=bar baz');
        c.process.cwd = '/tmp';
        c.process.capabilities = caps(['CAP_KILL', 'CAP_NET_BIND_SERVICE']);
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 321, hard: 654 },
          { type: 'RLIMIT_CORE', soft: 1024 * 1024, hard: 1024 * 1024 },
        ];
        c.process.noNewPrivileges = true;
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
    );
    const kv = keyValues(out);
    expect(kv.pid).toBe('1');
    expect(kv.ppid).toBe('0');
    expect(kv.hostname).toBe('rt-feat-host');
    expect(kv.domainname).toBe('rt-feat.example');
    const want = hex(CAP_KILL | CAP_NET_BIND_SERVICE);
    expect({ eff: kv.CapEff, prm: kv.CapPrm, bnd: kv.CapBnd, inh: kv.CapInh, amb: kv.CapAmb }).toEqual({
      eff: want,
      prm: want,
      bnd: want,
      inh: hex(0n),
      amb: hex(0n),
    });
    expect(kv.NoNewPrivs).toBe('1');
    expect(kv.Uid).toBe('0000');
    expect(kv.nofile).toBe('321/654');
    expect(kv.core).toBe(String((1024 * 1024) / 512)); // busybox ulimit -c counts 512-byte blocks
    expect(kv.umask).toBe('0022');
    expect(kv.id).toBe('uid=0(root) gid=0(root)');
    expect(kv.cwd).toBe('/tmp');
    expect(kv.home).toBe('/root'); // from the container's /etc/passwd
    expect(kv.foo).toBe('bar baz');
    expect(kv.ipfwd).toBe('1');
  });

  it('switches to a non-root user with additional gids, umask, HOME from /etc/passwd and ambient caps', () => {
    // The busybox rootfs directory is mode 0700 (see the report), so a non-root user
    // needs CAP_DAC_READ_SEARCH to walk "/"; it also makes a good ambient cap to check.
    const amb = ['CAP_DAC_READ_SEARCH', 'CAP_NET_BIND_SERVICE'];
    const out = inside(
      [
        'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Groups):" /proc/self/status | tr -d "\\t" | sed "s/:/=/"',
        'echo id=$(id)',
        'echo umask=$(umask)',
        'echo home=$HOME',
        'echo cwd=$(pwd)',
      ].join('; '),
      (c) => {
        c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o027 };
        c.process.cwd = '/home';
        c.process.noNewPrivileges = false;
        c.process.capabilities = { bounding: [...amb, 'CAP_KILL'], effective: amb, permitted: amb, inheritable: amb, ambient: amb };
      },
    );
    const kv = keyValues(out);
    expect(kv.id).toBe('uid=1000(user) gid=1000(user) groups=5,65534(nogroup)');
    expect(kv.Groups?.trim()).toBe('5 65534');
    expect(kv.umask).toBe('0027');
    expect(kv.home).toBe('/home');
    expect(kv.cwd).toBe('/home');
    const want = hex(CAP_DAC_READ_SEARCH | CAP_NET_BIND_SERVICE);
    expect({ eff: kv.CapEff, prm: kv.CapPrm, inh: kv.CapInh, amb: kv.CapAmb, bnd: kv.CapBnd }).toEqual({
      eff: want,
      prm: want,
      inh: want,
      amb: want,
      bnd: hex(CAP_DAC_READ_SEARCH | CAP_NET_BIND_SERVICE | CAP_KILL),
    });
    expect(kv.NoNewPrivs).toBe('0');
  });

  it('keeps an explicit HOME', () => {
    const kv = keyValues(inside('echo home=$HOME', (c) => c.process.env.push('HOME=/custom')));
    expect(kv.home).toBe('/custom');
  });

  it('mounts proc, a tmpfs /dev, devpts, and ro/rw bind mounts of host dirs as configured', () => {
    const ro = scratch!.mkdir('ro-src');
    const rw = scratch!.mkdir('rw-src');
    writeFileSync(join(ro, 'hello'), 'from the host\n');
    const out = inside(
      [
        'echo mounts-begin',
        'cat /proc/mounts',
        'echo mounts-end',
        'echo ro-read=$(cat /home/hello)',
        'echo ro-write=$(touch /home/new 2>&1 && echo ok)',
        'echo rw-write=$(echo written > /run/new 2>&1 && echo ok)',
        'echo root-write=$(touch /rt-feat-file 2>&1 && echo ok)',
      ].join('; '),
      (c) => {
        c.mounts.push(
          { destination: '/home', type: 'bind', source: ro, options: ['rbind', 'ro', 'nosuid'] },
          { destination: '/run', type: 'bind', source: rw, options: ['rbind', 'rw'] },
        );
      },
    );
    const lines = out.slice(out.indexOf('mounts-begin'), out.indexOf('mounts-end')).split('\n');
    const at = (dest: string) => lines.find((l) => l.split(' ')[1] === dest)?.split(' ') ?? [];
    expect(at('/proc')[2]).toBe('proc');
    expect(at('/dev')[2]).toBe('tmpfs');
    expect(at('/dev')[3]).toMatch(/(^|,)nosuid(,|$)/);
    expect(at('/dev')[3]).toMatch(/(^|,)mode=755(,|$)/);
    expect(at('/dev/pts')[2]).toBe('devpts');
    expect(at('/dev/pts')[3]).toMatch(/(^|,)gid=5(,|$)/);
    expect(at('/dev/shm')[2]).toBe('tmpfs');
    expect(at('/dev/mqueue')[2]).toBe('mqueue');
    expect(at('/sys')[3]).toMatch(/^ro,/);
    expect(at('/home')[3]).toMatch(/^ro,.*nosuid/);
    expect(at('/run')[3]).toMatch(/^rw,/);
    expect(at('/')[3]).toMatch(/^ro,/); // root.readonly
    const kv = keyValues(out);
    expect(kv['ro-read']).toBe('from the host');
    expect(kv['ro-write']).toContain('Read-only file system');
    expect(kv['rw-write']).toBe('ok');
    expect(kv['root-write']).toContain('Read-only file system');
    expect(readFileSync(join(rw, 'new'), 'utf8')).toBe('written\n');
    expect(existsSync(join(ro, 'new'))).toBe(false);
    expect(existsSync(join(ROOTFS, 'rt-feat-file'))).toBe(false);
  });

  it('leaves "/" writable when root.readonly is false (checked in /proc/mounts, never written)', () => {
    const out = inside("awk '$2 == \"/\" { print \"opts=\" $4 }' /proc/mounts", (c) => (c.root.readonly = false));
    expect(keyValues(out).opts).toMatch(/^rw,/);
  });

  it('honours rootfsPropagation (pivot_root still works; the rootfs is bound from a private parent, so nothing is a peer of the host)', () => {
    const lines = (prop: string) =>
      keyValues(inside("awk '$5 == \"/proc\" { print \"proc=\" $0 } $5 == \"/\" { print \"root=\" $0 }' /proc/self/mountinfo", (c) => (c.linux.rootfsPropagation = prop)));
    // rootfs-runc.test.ts compares the values with runc's; here: each runs, and no mount is a slave of the host's
    for (const prop of ['rshared', 'shared', 'slave', 'private']) {
      const kv = lines(prop);
      expect(kv.proc).not.toMatch(/ master:\d+ /);
      expect(kv.root).not.toMatch(/ master:\d+ /);
      if (prop.endsWith('shared')) expect(kv.root).toMatch(/ shared:\d+ /);
      else expect(kv.root).not.toMatch(/ shared:\d+ /);
    }
  });

  it('makes readonlyPaths read-only and masks maskedPaths (files read empty, dirs are empty read-only tmpfs)', () => {
    const rw = scratch!.mkdir('rw-for-readonly');
    const out = inside(
      [
        'echo sys-write=$(echo 1 2>&1 > /proc/sys/net/ipv4/ip_forward && echo ok)',
        'echo ro-path-write=$(touch /root/x 2>&1 && echo ok)',
        'echo keys-bytes=$(cat /proc/keys | wc -c)',
        'echo timer-bytes=$(cat /proc/timer_list | wc -c)',
        'echo www=$(ls -A /var/www | wc -l)',
        'echo www-write=$(touch /var/www/x 2>&1 && echo ok)',
        'echo acpi=$(ls -A /proc/acpi | wc -l)',
        "echo acpi-fs=$(awk '$2 == \"/proc/acpi\" { print $3 }' /proc/mounts)",
      ].join('; '),
      (c) => {
        c.mounts.push({ destination: '/root', type: 'bind', source: rw, options: ['rbind', 'rw'] });
        c.linux.readonlyPaths = ['/proc/sys', '/root'];
        c.linux.maskedPaths = ['/proc/keys', '/proc/timer_list', '/proc/acpi', '/var/www', '/proc/does-not-exist'];
      },
    );
    const kv = keyValues(out);
    expect(kv['sys-write']).toContain('Read-only file system');
    expect(kv['ro-path-write']).toContain('Read-only file system');
    expect(kv['keys-bytes']).toBe('0');
    expect(kv['timer-bytes']).toBe('0');
    expect(kv.www).toBe('0'); // the rootfs's /var/www holds index.html
    expect(kv['www-write']).toContain('Read-only file system');
    expect(kv['acpi-fs']).toBe('tmpfs');
    expect(kv.acpi).toBe('0');
    expect(existsSync(join(rw, 'x'))).toBe(false);
  });

  it('creates device nodes with the right type and numbers, config devices included', () => {
    const out = inside(
      [
        'for d in null zero full random urandom tty rt-feat-dev; do echo $d=$(stat -c "%F %t:%T %a %u:%g" /dev/$d); done',
        'echo ptmx=$(readlink /dev/ptmx)',
        'echo fd=$(readlink /dev/fd)',
        'echo null-write=$(echo x > /dev/null && echo ok)',
      ].join('; '),
      (c) => {
        c.linux.devices = [{ path: '/dev/rt-feat-dev', type: 'c', major: 1, minor: 5, fileMode: 0o600, uid: 1000, gid: 1000 }];
      },
    );
    const kv = keyValues(out);
    expect(kv.null).toBe('character special file 1:3 666 0:0');
    expect(kv.zero).toBe('character special file 1:5 666 0:0');
    expect(kv.full).toBe('character special file 1:7 666 0:0');
    expect(kv.random).toBe('character special file 1:8 666 0:0');
    expect(kv.urandom).toBe('character special file 1:9 666 0:0');
    expect(kv.tty).toBe('character special file 5:0 666 0:0');
    expect(kv['rt-feat-dev']).toBe('character special file 1:5 600 1000:1000');
    expect(kv.ptmx).toBe('pts/ptmx');
    expect(kv.fd).toBe('/proc/self/fd');
    expect(kv['null-write']).toBe('ok');
    expect(nodeIdentity('/dev/null')).toBe(hostNull);
  });

  it('does not leak fds above 2 into the container', () => {
    const a = openSync('/dev/null', 'r');
    const b = openSync(join(scratch!.dir, 'fd-leak'), 'w');
    try {
      const r = tsrun(root, ['run', '-b', scratch!.bundle(['ls', '/proc/self/fd']), id()], { extraFds: [a, b, a] });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // 0-2 and the directory ls itself opened
      expect(r.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2', '3']);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });
});
