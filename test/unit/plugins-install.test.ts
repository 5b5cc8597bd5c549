import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installPlugins, pluginText } from '../../src/network/plugins/install/install.js';
import { TsrunError } from '../../src/errors.js';

// `tsrun plugins install` as a library: what it writes, when it refuses, and
// that a refusal writes nothing. (The installed files run in
// test/integration/plugins-install.test.ts.)
const tmp = mkdtempSync(join(tmpdir(), 'tsinst-u-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bundle = join(tmp, 'cni-plugin.cjs');
writeFileSync(bundle, '#!/usr/bin/env node\n"use strict";\nconsole.log(globalThis.tsrunCniPluginType);\n');
writeFileSync(join(tmp, 'cni-plugin-koffi.node'), 'not really an addon');
const TYPES = ['loopback', 'host-local', 'bridge', 'ptp', 'portmap', 'firewall'];

describe('plugins install', () => {
  it('writes one executable per built-in plugin: an absolute node shebang, its type, the bundle without its own shebang', () => {
    const dir = join(tmp, 'a');
    const files = installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node' });
    expect(files.map((f) => f.type)).toEqual(TYPES);
    const text = readFileSync(join(dir, 'bridge'), 'utf8');
    expect(text).toBe(pluginText('bridge', readFileSync(bundle, 'utf8'), '/usr/bin/node'));
    expect(text.split('\n').slice(0, 4)).toEqual(['#!/usr/bin/node', '"use strict";', '// tsrun built-in CNI plugin "bridge" (tsrun plugins install)', 'globalThis.tsrunCniPluginType = "bridge";']);
    expect(text.match(/^#!/gm)).toHaveLength(1);
    expect(statSync(join(dir, 'bridge')).mode & 0o777).toBe(0o755);
    // the addon beside them, named by its sha256, not writable by others
    const addon = readdirSync(dir).filter((f) => f.startsWith('.tsrun-koffi-'));
    expect(addon).toEqual([`.tsrun-koffi-${createHash('sha256').update('not really an addon').digest('hex').slice(0, 16)}.node`]);
    expect(statSync(join(dir, addon[0]!)).mode & 0o777).toBe(0o644);
  });

  it('the same content again is fine; --list reports without writing', () => {
    const dir = join(tmp, 'b');
    expect(installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node', dryRun: true }).map((f) => f.state)).toEqual(TYPES.map(() => 'absent'));
    expect(() => statSync(dir)).toThrow();
    installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node' });
    expect(installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node' }).map((f) => f.state)).toEqual(TYPES.map(() => 'same'));
  });

  it('refuses a different file of a plugin\'s name, writing nothing at all; --force replaces it', () => {
    const dir = join(tmp, 'c');
    installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node', dryRun: true });
    installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node' });
    writeFileSync(join(dir, 'ptp'), 'someone else\'s ptp');
    rmSync(join(dir, 'bridge'));
    let err: unknown;
    try {
      installPlugins({ dir, bundlePath: bundle, node: '/usr/local/bin/node' }); // a different node: every file differs
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).message).toContain(`"${join(dir, 'ptp')}"`);
    expect((err as TsrunError).hint).toMatch(/--force/);
    expect(readFileSync(join(dir, 'ptp'), 'utf8')).toBe('someone else\'s ptp');
    expect(() => statSync(join(dir, 'bridge'))).toThrow(); // not even the missing one was written
    const states = installPlugins({ dir, bundlePath: bundle, node: '/usr/bin/node', force: true });
    expect(states.find((f) => f.type === 'ptp')!.state).toBe('different');
    expect(readFileSync(join(dir, 'ptp'), 'utf8')).toContain('tsrunCniPluginType = "ptp"');
  });

  it('names the missing bundle and says to build', () => {
    expect(() => installPlugins({ dir: join(tmp, 'd'), bundlePath: join(tmp, 'nope.cjs'), node: '/usr/bin/node' })).toThrow(/nope\.cjs/);
  });
});
