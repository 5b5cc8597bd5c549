import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfList } from '../../src/network/cni/conf.js';
import { TsrunError } from '../../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsn4-conf-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const put = (name: string, body: unknown) => writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
const plugins = [{ type: 'bridge' }];

async function caught(fn: () => unknown): Promise<TsrunError> {
  try {
    fn();
  } catch (e) {
    return e as TsrunError;
  }
  throw new Error('expected an error');
}

describe('loadConfList', () => {
  it('prefers conflists, first by file name, over single confs', () => {
    put('10-a.conf', { cniVersion: '1.0.0', name: 'n', type: 'ptp' });
    put('20-b.conflist', { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'second' }] });
    put('15-c.conflist', { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'first' }] });
    const list = loadConfList(dir, 'n');
    expect(list.plugins.map((p) => p.type)).toEqual(['first']);
    expect(list.file).toBe(join(dir, '15-c.conflist'));
  });

  it('turns a single .conf into a list of one, and reads disableCheck/disableGC as bool or string', () => {
    put('a.conf', { cniVersion: '0.4.0', name: 'single', type: 'ptp', ipMasq: true });
    put('b.conflist', { cniVersion: '1.1.0', name: 'flags', disableCheck: 'true', disableGC: true, plugins });
    const single = loadConfList(dir, 'single');
    expect(single.plugins).toEqual([{ cniVersion: '0.4.0', name: 'single', type: 'ptp', ipMasq: true }]);
    expect(single.cniVersion).toBe('0.4.0');
    const flags = loadConfList(dir, 'flags');
    expect([flags.disableCheck, flags.disableGC]).toEqual([true, true]);
  });

  it('picks the highest supported version from cniVersions', () => {
    put('a.conflist', { cniVersions: ['0.4.0', '1.1.0', '9.9.9'], name: 'n', plugins });
    expect(loadConfList(dir, 'n').cniVersion).toBe('1.1.0');
  });

  it('names the file and JSON path of a schema error', async () => {
    put('bad.conflist', { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, { ipam: {} }] });
    const e = await caught(() => loadConfList(dir, 'n'));
    expect(e.code).toBe('CNI_CONFIG');
    expect(e.file).toBe(join(dir, 'bad.conflist'));
    expect(e.jsonPath).toBe('plugins.1.type');
    expect(e.message).toContain('bad.conflist: plugins.1.type:');
  });

  it('rejects an unknown cniVersion, an empty plugin list and invalid JSON', async () => {
    put('v.conflist', { cniVersion: '7.0.0', name: 'v', plugins });
    expect((await caught(() => loadConfList(dir, 'v'))).jsonPath).toBe('cniVersion');
    put('e.conflist', { cniVersion: '1.0.0', name: 'e', plugins: [] });
    expect((await caught(() => loadConfList(dir, 'e'))).message).toMatch(/plugins: no plugins in list/);
    rmSync(join(dir, 'v.conflist'));
    rmSync(join(dir, 'e.conflist'));
    put('j.conflist', '{"name": "j",');
    const e = await caught(() => loadConfList(dir, 'j'));
    expect(e.message).toMatch(/j\.conflist: invalid JSON/);
  });

  it('says which name and dir when nothing matches', async () => {
    put('a.conflist', { cniVersion: '1.0.0', name: 'other', plugins });
    const e = await caught(() => loadConfList(dir, 'missing'));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`no net configuration with name "missing" in ${dir}`);
  });
});
