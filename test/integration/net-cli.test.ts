import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConf } from '../helpers/netns.js';

// `tsrun net gc|status` against a 1.1.0 plugin (the reference plugins stop at
// 1.0.0): a shell plugin that logs its command and stdin, and whose STATUS
// reports "not ready" while a flag file exists. No netns is touched.
let tmp: string;
const cli = (...args: string[]) =>
  execa('node', ['dist/cli/main.js', 'net', ...args, '--conf-dir', join(tmp, 'conf'), '--cni-path', join(tmp, 'bin'), '--cache-dir', join(tmp, 'cache')], { reject: false });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tsn4g-'));
  mkdirSync(join(tmp, 'bin'));
  const log = join(tmp, 'log');
  writeFileSync(join(tmp, 'bin', 'tsn4v11'), `#!/bin/sh
input=$(cat)
echo "$CNI_COMMAND $input" >> ${log}
case "$CNI_COMMAND" in
  ADD) echo '{"cniVersion":"1.1.0","ips":[{"address":"10.244.47.2/24"}]}' ;;
  STATUS) if [ -e ${join(tmp, 'down')} ]; then echo '{"cniVersion":"1.1.0","code":50,"msg":"backend down"}'; exit 1; fi ;;
esac
`);
  chmodSync(join(tmp, 'bin', 'tsn4v11'), 0o755);
  writeConf(join(tmp, 'conf'), 'v11.conflist', { cniVersion: '1.1.0', name: 'tsn4g-net', plugins: [{ type: 'tsn4v11' }] });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const logLines = () => readFileSync(join(tmp, 'log'), 'utf8').trim().split('\n');

describe('tsrun net gc and status (spec 1.1)', () => {
  it('status exits 0 when ready, and non-zero with the plugin error (code 50) when not', async () => {
    expect((await cli('status', 'tsn4g-net')).exitCode).toBe(0);
    writeFileSync(join(tmp, 'down'), '');
    const r = await cli('status', 'tsn4g-net');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('plugin type="tsn4v11" name="tsn4g-net" failed (status): backend down');
    rmSync(join(tmp, 'down'));
  });

  it('gc DELs stale cached attachments, then sends GC with cni.dev/valid-attachments', async () => {
    for (const id of ['tsn4g-a', 'tsn4g-b']) expect((await cli('add', 'tsn4g-net', '/nonexistent', '--container-id', id)).exitCode).toBe(0);
    const r = await cli('gc', 'tsn4g-net', '--valid', 'tsn4g-a/eth0');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ deleted: [{ containerId: 'tsn4g-b', ifName: 'eth0' }] });
    const [del, gc] = logLines().slice(-2);
    expect(del).toMatch(/^DEL /);
    expect(JSON.parse(del!.slice(4)).prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.244.47.2/24' }] });
    expect(gc).toMatch(/^GC /);
    expect(JSON.parse(gc!.slice(3))).toMatchObject({ name: 'tsn4g-net', cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'tsn4g-a', ifname: 'eth0' }] });
  });
});
