import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSpec } from '../../src/spec/defaults.js';
import { loadBundle, loadSpecFile, parseSpec } from '../../src/spec/load.js';
import { caught } from '../helpers/caught.js';

// Tests poke at raw, possibly invalid JSON.
type Json = Record<string, any>;

const clone = (): Json => JSON.parse(JSON.stringify(defaultSpec())) as Json;


/** A runc 1.1-era config as `runc spec` wrote it, plus what podman adds. */
const runcLike: Json = {
  ociVersion: '1.0.2-dev',
  process: {
    terminal: false,
    user: { uid: 1000, gid: 1000, additionalGids: [10, 100], umask: 18 },
    args: ['/bin/sh', '-c', 'echo hi'],
    env: ['PATH=/usr/bin:/bin'],
    cwd: '/home/user',
    capabilities: { bounding: ['CAP_CHOWN'], effective: [], inheritable: [], permitted: ['CAP_CHOWN'], ambient: [] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 18446744073709551615, soft: 1024 }],
    oomScoreAdj: -500,
    apparmorProfile: 'containers-default',
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
  },
  root: { path: '/var/lib/containers/rootfs' },
  hostname: 'box',
  mounts: [{ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] }],
  hooks: { createRuntime: [{ path: '/usr/bin/hook', args: ['hook', 'up'], env: ['A=1'], timeout: 5 }] },
  annotations: { 'org.tsrun.network': 'bridge0' },
  linux: {
    namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/x' }, { type: 'mount' }, { type: 'time' }],
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }, { type: 'p', path: '/dev/fifo' }],
    cgroupsPath: 'machine.slice:libpod:abc',
    resources: {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
      memory: { limit: -1, swappiness: 0 },
      cpu: { shares: 1024, quota: -1, cpus: '0-1' },
      pids: { limit: 2048 },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      unified: { 'memory.high': 'max' },
    },
    sysctl: { 'net.ipv4.ip_forward': '1' },
    seccomp: {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] }],
    },
    rootfsPropagation: 'rslave',
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
    mountLabel: 'system_u:object_r:container_file_t:s0',
    personality: { domain: 'LINUX32' },
  },
};

describe('parseSpec accepts', () => {
  it('the default spec and the rootless default spec', () => {
    expect(parseSpec(clone(), 'config.json')).toEqual(defaultSpec());
    const rootless = defaultSpec({ rootless: true });
    expect(parseSpec(JSON.parse(JSON.stringify(rootless)), 'config.json')).toEqual(rootless);
  });

  it('a runc/podman-like config', () => {
    const spec = parseSpec(runcLike, 'config.json');
    expect(spec.process?.user).toMatchObject({ uid: 1000, additionalGids: [10, 100] });
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'mount', 'time']);
  });

  it('keeps unknown extension fields at every level', () => {
    const json: Json = { ...clone(), 'org.example.top': { x: 1 } };
    json.process.futureField = [1, 2];
    json.linux.resources.memory = { limit: 1 << 20, someNewKnob: true };
    const spec = parseSpec(json, 'config.json') as Json;
    expect(spec['org.example.top']).toEqual({ x: 1 });
    expect(spec.process.futureField).toEqual([1, 2]);
    expect(spec.linux.resources.memory.someNewKnob).toBe(true);
  });

  it('relative mount destinations only with ociVersion 1.0.x', () => {
    const json = clone();
    json.ociVersion = '1.0.2';
    json.mounts[0].destination = 'proc';
    expect(parseSpec(json, 'config.json').mounts?.[0]?.destination).toBe('proc');
  });

  it('a process without user as uid 0, gid 0 (like runc)', () => {
    const json = clone();
    delete json.process.user;
    expect(parseSpec(json, 'config.json').process?.user).toEqual({ uid: 0, gid: 0 });
  });
});

type Case = [name: string, mutate: (s: Json) => void, jsonPath: string, message: RegExp];

const badSpecs: Case[] = [
  ['missing process.args', (s) => delete s.process.args, 'process.args', /process\.args: required field is missing \(expected an array\)/],
  ['empty args', (s) => (s.process.args = []), 'process.args', /process\.args: expected a non-empty array$/],
  ['relative cwd', (s) => (s.process.cwd = 'tmp'), 'process.cwd', /expected an absolute path, got "tmp"/],
  ['bad namespace type', (s) => (s.linux.namespaces[2].type = 'netwrok'), 'linux.namespaces[2].type', /expected one of pid, network, mount, ipc, uts, user, cgroup, time, got "netwrok"/],
  ['duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[6].type', /namespace type "pid" appears more than once/],
  ['rlimit type', (s) => (s.process.rlimits[0].type = 'NOFILE'), 'process.rlimits[0].type', /expected a resource name like RLIMIT_NOFILE, got "NOFILE"/],
  ['rlimit soft > hard', (s) => (s.process.rlimits[0].soft = 4096), 'process.rlimits[0].soft', /soft limit 4096 is above hard limit 1024/],
  ['negative uid', (s) => (s.process.user.uid = -1), 'process.user.uid', /expected an integer from 0 to 4294967295, got -1/],
  ['gid over 2^32-1', (s) => (s.process.user.gid = 2 ** 32), 'process.user.gid', /got 4294967296/],
  ['relative hook path', (s) => (s.hooks = { poststop: [{ path: 'hook.sh' }] }), 'hooks.poststop[0].path', /expected an absolute path, got "hook.sh"/],
  ['hook timeout 0', (s) => (s.hooks = { prestart: [{ path: '/h', timeout: 0 }] }), 'hooks.prestart[0].timeout', /> 0, got 0/],
  ['capability name', (s) => s.process.capabilities.effective.push('NET_ADMIN'), 'process.capabilities.effective[3]', /expected a capability name like CAP_KILL, got "NET_ADMIN"/],
  ['rootfsPropagation', (s) => (s.linux.rootfsPropagation = 'recursive'), 'linux.rootfsPropagation', /expected one of shared, slave, private, unbindable, rshared/],
  ['device type', (s) => (s.linux.devices = [{ type: 'x', path: '/dev/x', major: 1, minor: 1 }]), 'linux.devices[0].type', /expected one of c, b, u, p, got "x"/],
  ['char device without numbers', (s) => (s.linux.devices = [{ type: 'c', path: '/dev/x', minor: 1 }]), 'linux.devices[0].major', /required for device type "c"/],
  ['relative mount destination (1.2)', (s) => (s.mounts[1].destination = 'dev'), 'mounts[1].destination', /expected an absolute path, got "dev"/],
  ['annotation value not a string', (s) => (s.annotations = { 'org.x.y': 1 }), 'annotations["org.x.y"]', /expected a string, got number/],
  ['ociVersion 2', (s) => (s.ociVersion = '2.0.0'), 'ociVersion', /expected a 1\.x\.y version/],
];

describe('parseSpec rejects', () => {
  it.each(badSpecs)('%s', (_name, mutate, jsonPath, message) => {
    const json = clone();
    mutate(json);
    const err = caught(() => parseSpec(json, '/b/config.json'));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.file).toBe('/b/config.json');
    expect(err.jsonPath).toBe(jsonPath);
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`/b/config.json: ${jsonPath}: `)).toBe(true);
  });

  it('reports the first problem and counts the others', () => {
    const json = clone();
    json.process.args = [];
    json.process.cwd = 'x';
    json.hostname = 7;
    const err = caught(() => parseSpec(json, 'config.json'));
    expect(err.message).toBe('config.json: process.args: expected a non-empty array (and 2 more problems)');
    expect(err.hint).toContain('process.cwd: expected an absolute path');
    expect(err.hint).toContain('hostname: expected a string, got number');
  });

  it('a top level that is not an object', () => {
    const err = caught(() => parseSpec([], 'config.json'));
    expect(err.jsonPath).toBe('');
    expect(err.message).toBe('config.json: expected an object, got array');
  });
});

describe('loadSpecFile and loadBundle', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeConfig = (json: unknown): string => {
    const file = join(dir, 'config.json');
    writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json, null, 2));
    return file;
  };

  it('loads a bundle: realpath bundle, rootfs resolved against it', () => {
    mkdirSync(join(dir, 'rootfs'));
    writeConfig(clone());
    const loaded = loadBundle(`${dir}/./`);
    expect(loaded.bundle).toBe(dir);
    expect(loaded.configPath).toBe(join(dir, 'config.json'));
    expect(loaded.rootfs).toBe(join(dir, 'rootfs'));
    expect(loaded.spec.hostname).toBe('tsrun');
  });

  it('keeps an absolute root.path as is', () => {
    const json = clone();
    json.root.path = dir;
    writeConfig(json);
    expect(loadBundle(dir).rootfs).toBe(dir);
  });

  it('malformed JSON names line and column', () => {
    const file = writeConfig('{\n  "ociVersion": "1.2.0",\n  "process": { "args": [1,] }\n}\n');
    const err = caught(() => loadSpecFile(file));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.file).toBe(file);
    expect(err.message).toBe(`${file}: invalid JSON at line 3, column 27: unexpected "]", expected a value`);
  });

  it('truncated JSON points at the end', () => {
    const file = writeConfig('{"ociVersion": "1.2.0"');
    expect(caught(() => loadSpecFile(file)).message).toMatch(/line 1, column 23: unexpected end of input, expected "," or "}"/);
  });

  it('missing config.json', () => {
    const err = caught(() => loadBundle(dir));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.file).toBe(join(dir, 'config.json'));
    expect(err.message).toBe(`${join(dir, 'config.json')}: no such file or directory`);
  });

  it('missing bundle directory', () => {
    const err = caught(() => loadBundle(join(dir, 'nope')));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toMatch(/no such file or directory/);
  });

  it('missing rootfs', () => {
    const file = writeConfig(clone());
    const err = caught(() => loadBundle(dir));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.file).toBe(file);
    expect(err.jsonPath).toBe('root.path');
    expect(err.message).toBe(`${file}: root.path: ${join(dir, 'rootfs')}: no such file or directory`);
  });

  it('rootfs that is a file', () => {
    writeFileSync(join(dir, 'rootfs'), '');
    writeConfig(clone());
    const err = caught(() => loadBundle(dir));
    expect(err.jsonPath).toBe('root.path');
    expect(err.message).toMatch(/not a directory/);
  });

  it('a bundle needs a process', () => {
    mkdirSync(join(dir, 'rootfs'));
    const json = clone();
    delete json.process;
    const file = writeConfig(json);
    expect(parseSpec(json, file).process).toBeUndefined();
    const err = caught(() => loadBundle(dir));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.jsonPath).toBe('process');
    expect(err.message).toBe(`${file}: process: required to create a container`);
  });

  it('schema errors from a file carry the file path', () => {
    mkdirSync(join(dir, 'rootfs'));
    const json = clone();
    json.linux.namespaces[2].type = 'netwrok';
    const file = writeConfig(json);
    const err = caught(() => loadBundle(dir));
    expect(err.file).toBe(file);
    expect(err.message).toMatch(new RegExp(`^${file}: linux\\.namespaces\\[2\\]\\.type: expected one of pid, network, .*got "netwrok"$`));
  });
});
