import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniClient } from '../../src/network/cni/api.js';
import { confListFromBytes } from '../../src/network/cni/conf.js';
import { FakePluginExec, reply, type RecordedCall } from '../../src/network/cni/fake-exec.js';
import { gcNetworkList, getStatusNetworkList, validateNetworkList } from '../../src/network/cni/maintenance.js';
import { TsrunError } from '../../src/errors.js';

const conflist = (cniVersion = '1.0.0', extra: object = {}) =>
  confListFromBytes(
    Buffer.from(
      JSON.stringify({
        cniVersion,
        name: 'net1',
        ...extra,
        plugins: [
          { type: 'bridge', bridge: 'br0' },
          { type: 'portmap', capabilities: { portMappings: true } },
          { type: 'tuning', capabilities: { mac: false } },
        ],
      }),
    ),
  );

const result = (ip: string) => ({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: ip, interface: 0 }] });
const rt = { containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0' };

// Each plugin replies with the prevResult it got plus one marker address, so threading is visible.
function chainPlugin(ip: string) {
  return (c: RecordedCall) => {
    if (c.command !== 'ADD') return reply.ok();
    const prev = (c.stdin.prevResult as ReturnType<typeof result> | undefined) ?? { ...result(ip), ips: [] };
    return reply.ok({ ...prev, ips: [...prev.ips, { address: ip }] });
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsn4-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function client(handlers: ConstructorParameters<typeof FakePluginExec>[0]) {
  const exec = new FakePluginExec(handlers);
  const warnings: string[] = [];
  return { exec, warnings, cni: new CniClient({ exec, cacheDir: dir, path: ['/x', '/y'], warn: (m) => warnings.push(m) }) };
}

describe('ADD', () => {
  it('runs plugins in order, threading prevResult, and caches the final result', async () => {
    const { exec, cni } = client({ bridge: chainPlugin('10.0.0.2/24'), portmap: chainPlugin('10.0.0.3/24'), tuning: chainPlugin('10.0.0.4/24') });
    const list = conflist();
    const res = await cni.addNetworkList(list, { ...rt, args: [['K8S_POD_NAME', 'p']], capabilityArgs: { portMappings: [{ hostPort: 8080 }], mac: 'aa' } });
    expect(exec.calls.map((c) => `${c.type}:${c.command}`)).toEqual(['bridge:ADD', 'portmap:ADD', 'tuning:ADD']);
    expect(exec.calls[0]!.stdin.prevResult).toBeUndefined();
    expect((exec.calls[1]!.stdin.prevResult as { ips: unknown[] }).ips).toEqual([{ address: '10.0.0.2/24' }]);
    expect((res as { ips: unknown[] }).ips).toHaveLength(3);
    // name and version come from the list; runtimeConfig only for declared, enabled capabilities
    expect(exec.calls.every((c) => c.stdin.name === 'net1' && c.stdin.cniVersion === '1.0.0')).toBe(true);
    expect(exec.calls[0]!.stdin.runtimeConfig).toBeUndefined();
    expect(exec.calls[1]!.stdin.runtimeConfig).toEqual({ portMappings: [{ hostPort: 8080 }] });
    expect(exec.calls[2]!.stdin.runtimeConfig).toBeUndefined();
    expect(exec.calls[0]!.env).toMatchObject({
      CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=p', CNI_PATH: '/x:/y',
    });
    const cached = JSON.parse(readFileSync(join(dir, 'results', 'net1-c1-eth0'), 'utf8'));
    expect(cached.kind).toBe('cniCacheV1');
    expect(Buffer.from(cached.config, 'base64').equals(list.bytes)).toBe(true);
    expect(cached.result.ips).toHaveLength(3);
    expect(cached.cniArgs).toEqual([['K8S_POD_NAME', 'p']]);
  });

  it('converts a plugin result of another version to the list version before passing it on', async () => {
    const { exec, cni } = client({
      bridge: () => reply.ok({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }] }),
      portmap: (c) => reply.ok(c.stdin.prevResult),
      tuning: (c) => reply.ok(c.stdin.prevResult),
    });
    const res = await cni.addNetworkList(conflist(), rt);
    expect(exec.calls[1]!.stdin.prevResult).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    expect(res.cniVersion).toBe('1.0.0');
  });

  it('on a midway failure, DELs the plugins that ran in reverse order and reports the plugin error with its code', async () => {
    const { exec, cni } = client({
      bridge: chainPlugin('10.0.0.2/24'),
      portmap: (c) => (c.command === 'ADD' ? reply.error(7, 'no iptables', 'chain missing') : reply.ok()),
      tuning: chainPlugin('x'),
    });
    const err = await cni.addNetworkList(conflist(), rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).message).toBe('plugin type="portmap" name="net1" failed (add): no iptables; chain missing');
    expect((err as TsrunError).cniCode).toBe(7);
    expect((err as TsrunError).code).toBe('CNI_PLUGIN');
    expect(exec.calls.map((c) => `${c.type}:${c.command}`)).toEqual(['bridge:ADD', 'portmap:ADD', 'portmap:DEL', 'bridge:DEL']);
    // rollback DELs get the last good result
    expect((exec.calls[3]!.stdin.prevResult as { ips: unknown[] }).ips).toEqual([{ address: '10.0.0.2/24' }]);
    expect(() => readFileSync(join(dir, 'results', 'net1-c1-eth0'))).toThrow();
  });

  it('does not roll back a repeated ADD (that would tear down the existing attachment)', async () => {
    let added = false;
    const { exec, cni } = client({
      bridge: (c) => {
        if (c.command !== 'ADD') return reply.ok();
        if (added) return reply.error(11, 'container veth name provided (eth0) already exists');
        added = true;
        return reply.ok(result('10.0.0.2/24'));
      },
      portmap: (c) => reply.ok(c.stdin.prevResult),
      tuning: (c) => reply.ok(c.stdin.prevResult),
    });
    await cni.addNetworkList(conflist(), rt);
    exec.calls.length = 0;
    await expect(cni.addNetworkList(conflist(), rt)).rejects.toThrow(/already exists/);
    expect(exec.calls.map((c) => c.command)).toEqual(['ADD']);
  });

  it('rejects bad ids before running anything', async () => {
    const { exec, cni } = client({ bridge: chainPlugin('a'), portmap: chainPlugin('b'), tuning: chainPlugin('c') });
    await expect(cni.addNetworkList(conflist(), { ...rt, containerId: '-bad' })).rejects.toThrow(/container ID/);
    await expect(cni.addNetworkList(conflist(), { ...rt, ifName: 'a/b' })).rejects.toThrow(/interface name/);
    expect(exec.calls).toHaveLength(0);
  });

  it('names a missing plugin and the search path', async () => {
    const { cni } = client({ bridge: chainPlugin('a') });
    await expect(cni.addNetworkList(conflist(), rt)).rejects.toThrow(
      'plugin type="portmap" name="net1" failed (add): failed to find plugin "portmap" in path [/x /y]',
    );
  });
});

describe('DEL', () => {
  it('runs in reverse order with the cached result as prevResult, then drops the cache entry', async () => {
    const { exec, cni } = client({ bridge: chainPlugin('10.0.0.2/24'), portmap: chainPlugin('10.0.0.3/24'), tuning: chainPlugin('10.0.0.4/24') });
    const added = await cni.addNetworkList(conflist(), rt);
    exec.calls.length = 0;
    await cni.delNetworkList(conflist(), rt);
    expect(exec.calls.map((c) => `${c.type}:${c.command}`)).toEqual(['tuning:DEL', 'portmap:DEL', 'bridge:DEL']);
    for (const c of exec.calls) expect(c.stdin.prevResult).toEqual(added);
    expect(cni.cachedAttachments()).toEqual([]);
  });

  it('falls back to the capability args and CNI_ARGS cached at ADD when CHECK or DEL is given none', async () => {
    const { exec, cni } = client({ bridge: chainPlugin('10.0.0.2/24'), portmap: chainPlugin('b/32'), tuning: chainPlugin('c/32') });
    const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
    await cni.addNetworkList(conflist(), { ...rt, args: [['A', 'b']], capabilityArgs: { portMappings } });
    exec.calls.length = 0;
    await cni.checkNetworkList(conflist(), rt);
    expect(exec.calls.find((c) => c.type === 'portmap')!.stdin.runtimeConfig).toEqual({ portMappings });
    exec.calls.length = 0;
    await cni.delNetworkList(conflist(), rt);
    const portmapDel = exec.calls.find((c) => c.type === 'portmap')!;
    expect(portmapDel.stdin.runtimeConfig).toEqual({ portMappings });
    expect(portmapDel.env.CNI_ARGS).toBe('A=b');
  });

  it('succeeds with no cache entry (DEL of unknown, DEL twice)', async () => {
    const { exec, cni } = client({ bridge: () => reply.ok(), portmap: () => reply.ok(), tuning: () => reply.ok() });
    await cni.delNetworkList(conflist(), rt);
    await cni.delNetworkList(conflist(), rt);
    expect(exec.calls.every((c) => c.stdin.prevResult === undefined)).toBe(true);
  });

  it('reports a corrupt cache entry, still runs DEL, and the DEL removes it; CHECK leaves it (it may be a write in progress)', async () => {
    const { exec, cni, warnings } = client({ bridge: () => reply.ok(), portmap: () => reply.ok(), tuning: () => reply.ok() });
    mkdirSync(join(dir, 'results'), { recursive: true });
    writeFileSync(join(dir, 'results', 'net1-c1-eth0'), '{"kind":"cniCacheV1",');
    await expect(cni.checkNetworkList(conflist(), rt)).rejects.toThrow(/no cached result/);
    expect(existsSync(join(dir, 'results', 'net1-c1-eth0'))).toBe(true);
    await cni.delNetworkList(conflist(), rt);
    expect(exec.calls).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/corrupt CNI cache entry .*net1-c1-eth0: invalid JSON/);
    expect(cni.cachedAttachments()).toEqual([]);
    expect(existsSync(join(dir, 'results', 'net1-c1-eth0'))).toBe(false);
  });

  it('gives every plugin its DEL when one fails, and keeps the cache entry for a retry', async () => {
    const { exec, cni } = client({
      bridge: chainPlugin('10.0.0.2/24'),
      portmap: (c) => (c.command === 'DEL' ? reply.error(999, 'iptables busy') : chainPlugin('b')(c)),
      tuning: chainPlugin('c'),
    });
    await cni.addNetworkList(conflist(), rt);
    exec.calls.length = 0;
    await expect(cni.delNetworkList(conflist(), rt)).rejects.toThrow('plugin type="portmap" name="net1" failed (delete): iptables busy');
    expect(exec.calls.map((c) => c.type)).toEqual(['tuning', 'portmap', 'bridge']);
    expect(cni.cachedAttachments()).toHaveLength(1);
  });
});

describe('CHECK', () => {
  it('runs in order with the cached result; errors before 0.4.0; skipped with disableCheck', async () => {
    const { exec, cni } = client({ bridge: chainPlugin('a/32'), portmap: chainPlugin('b/32'), tuning: chainPlugin('c/32') });
    await expect(cni.checkNetworkList(conflist(), rt)).rejects.toThrow(/no cached result/);
    const added = await cni.addNetworkList(conflist(), rt);
    exec.calls.length = 0;
    await cni.checkNetworkList(conflist(), rt);
    expect(exec.calls.map((c) => `${c.type}:${c.command}`)).toEqual(['bridge:CHECK', 'portmap:CHECK', 'tuning:CHECK']);
    expect(exec.calls[0]!.stdin.prevResult).toEqual(added);
    await expect(cni.checkNetworkList(conflist('0.3.1'), rt)).rejects.toThrow(/does not support the CHECK command/);
    exec.calls.length = 0;
    await cni.checkNetworkList(conflist('1.0.0', { disableCheck: 'true' }), rt);
    expect(exec.calls).toHaveLength(0);
  });
});

describe('GC and STATUS', () => {
  it('DELs stale cached attachments, keeps valid ones, then sends GC with cni.dev/valid-attachments (1.1.0)', async () => {
    const { exec, cni, warnings } = client({ bridge: chainPlugin('a/32'), portmap: chainPlugin('b/32'), tuning: chainPlugin('c/32') });
    const list = conflist('1.1.0');
    await cni.addNetworkList(list, { ...rt, containerId: 'keep' });
    await cni.addNetworkList(list, { ...rt, containerId: 'stale', netns: '/gone' });
    writeFileSync(join(dir, 'results', 'net1-broken-eth0'), 'garbage');
    exec.calls.length = 0;
    const report = await gcNetworkList(cni, list, [{ containerID: 'keep', ifname: 'eth0' }]);
    expect(report.deleted).toEqual([{ containerId: 'stale', ifName: 'eth0' }]);
    expect(exec.calls.map((c) => `${c.type}:${c.command}:${c.env.CNI_CONTAINERID}`)).toEqual([
      'tuning:DEL:stale', 'portmap:DEL:stale', 'bridge:DEL:stale', 'bridge:GC:', 'portmap:GC:', 'tuning:GC:',
    ]);
    expect(exec.calls[0]!.env.CNI_NETNS).toBe('/gone');
    expect(exec.calls[3]!.stdin['cni.dev/valid-attachments']).toEqual([{ containerID: 'keep', ifname: 'eth0' }]);
    expect(cni.cachedAttachments().map((e) => e.containerId)).toEqual(['keep']);
    expect(warnings.join()).toMatch(/net1-broken-eth0/);
  });

  it('sends no GC/STATUS to plugins below 1.1.0, and nothing at all with disableGC', async () => {
    const { exec, cni } = client({ bridge: () => reply.ok(), portmap: () => reply.ok(), tuning: () => reply.ok() });
    await gcNetworkList(cni, conflist('1.0.0'));
    await getStatusNetworkList(cni, conflist('1.0.0'));
    await gcNetworkList(cni, conflist('1.1.0', { disableGC: true }));
    expect(exec.calls).toHaveLength(0);
  });

  it('STATUS stops at the first plugin that is not ready, keeping its code', async () => {
    const { exec, cni } = client({ bridge: () => reply.ok(), portmap: () => reply.error(50, 'not ready'), tuning: () => reply.ok() });
    const err = (await getStatusNetworkList(cni, conflist('1.1.0')).catch((e: unknown) => e)) as TsrunError;
    expect(err.message).toBe('plugin type="portmap" name="net1" failed (status): not ready');
    expect(err.cniCode).toBe(50);
    expect(exec.calls.map((c) => c.type)).toEqual(['bridge', 'portmap']);
  });

  it('VERSION: validate reports a plugin that does not speak the list version', async () => {
    const v = (versions: string[]) => () => reply.ok({ cniVersion: '1.0.0', supportedVersions: versions });
    const { cni } = client({ bridge: v(['0.4.0', '1.0.0']), portmap: v(['1.0.0']), tuning: v(['0.4.0']) });
    await expect(validateNetworkList(cni, conflist('1.0.0'))).rejects.toThrow('plugin tuning does not support config version "1.0.0" (it supports 0.4.0)');
    const ok = client({ bridge: v(['1.0.0']), portmap: v(['1.0.0']), tuning: v(['1.0.0']) });
    expect(await validateNetworkList(ok.cni, conflist('1.0.0'))).toEqual(['portMappings']);
  });
});
