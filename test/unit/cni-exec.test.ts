import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealPluginExec } from '../../src/network/cni/exec.js';
import { invokePlugin } from '../../src/network/cni/invoke.js';
import { TsrunError } from '../../src/errors.js';

// The real exec against tiny shell-script plugins: no root, no CNI binaries.
let dir: string;
const exec = new RealPluginExec();
const script = (name: string, body: string) => {
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
};
const call = (type: string, timeoutMs = 5000) =>
  invokePlugin({ exec, path: ['/nonexistent', dir], timeoutMs }, type, 'ADD', { cniVersion: '1.0.0', name: 'n', type }, { containerId: 'c', netns: '/x', ifName: 'eth0' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsn4-exec-'));
  script('echoenv', 'cat >/dev/null; printf \'{"cniVersion":"1.0.0","interfaces":[{"name":"%s"}],"dns":{"domain":"%s"}}\' "$CNI_IFNAME" "$CNI_COMMAND"');
  script('stdin', 'cat');
  script('cnierr', 'echo \'{"cniVersion":"1.0.0","code":11,"msg":"boom","details":"more"}\'; exit 1');
  script('garbage', 'echo hello; exit 0');
  script('crash', 'echo "panic: nil map" >&2; exit 2');
  script('slow', 'sleep 3'); // sleep is a grandchild holding stdout: the timeout must not wait for it
  writeFileSync(join(dir, 'notexec'), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fail = async (p: Promise<unknown>) => (await p.then(() => { throw new Error('expected failure'); }, (e: unknown) => e)) as TsrunError;

describe('RealPluginExec', () => {
  it('passes the environment and the config on stdin, and decodes stdout', async () => {
    expect(await call('echoenv')).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], dns: { domain: 'ADD' } });
    expect(await call('stdin')).toEqual({ cniVersion: '1.0.0', name: 'n', type: 'stdin' });
  });

  it('keeps a plugin error code and message', async () => {
    const e = await fail(call('cnierr'));
    expect([e.code, e.cniCode, e.message]).toEqual(['CNI_PLUGIN', 11, 'boom; more']);
  });

  it('gives clear errors for garbage output, a crash, a timeout and a missing or non-executable binary', async () => {
    expect((await fail(call('garbage'))).message).toBe('plugin printed output that is not JSON: "hello\\n"');
    expect((await fail(call('crash'))).message).toBe('netplugin failed: "panic: nil map" (exited with status 2)');
    expect((await fail(call('slow', 200))).message).toBe('timed out after 200 ms');
    expect((await fail(call('missing'))).message).toBe(`failed to find plugin "missing" in path [/nonexistent ${dir}]`);
    expect((await fail(call('notexec'))).message).toMatch(/failed to find plugin "notexec"/);
  });
});
