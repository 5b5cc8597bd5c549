import { describe, expect, it } from 'vitest';
import { convertResult, parseResult } from '../../src/network/cni/result/convert.js';

const v100 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:01:02', sandbox: '/run/netns/x' }],
  ips: [
    { interface: 0, address: '10.244.1.2/24', gateway: '10.244.1.1' },
    { interface: 0, address: 'fd00::2/64', gateway: 'fd00::1' },
    { interface: 0, address: '10.244.9.2/24' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }, { dst: '::/0' }],
  dns: { nameservers: ['10.244.1.1'] },
};

describe('result conversion', () => {
  it.each([
    ['1.0.0 → 1.1.0 keeps everything', '1.1.0', { ...v100, cniVersion: '1.1.0' }],
    ['1.0.0 → 0.4.0 adds a version per IP', '0.4.0', {
      ...v100,
      cniVersion: '0.4.0',
      ips: [
        { interface: 0, address: '10.244.1.2/24', gateway: '10.244.1.1', version: '4' },
        { interface: 0, address: 'fd00::2/64', gateway: 'fd00::1', version: '6' },
        { interface: 0, address: '10.244.9.2/24', version: '4' },
      ],
    }],
    ['1.0.0 → 0.2.0 keeps the first address of each family with its routes', '0.2.0', {
      cniVersion: '0.2.0',
      ip4: { ip: '10.244.1.2/24', gateway: '10.244.1.1', routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }] },
      ip6: { ip: 'fd00::2/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
      dns: { nameservers: ['10.244.1.1'] },
    }],
  ] as const)('%s', (_name, to, expected) => {
    expect(convertResult(parseResult(v100, '1.0.0'), to)).toEqual(expected);
  });

  it('round-trips 0.4.0 → 1.0.0 → 0.3.1', () => {
    const r040 = convertResult(parseResult(v100, '1.0.0'), '0.4.0');
    expect(convertResult(r040, '1.0.0')).toEqual(v100);
    expect(convertResult(r040, '0.3.1')).toEqual({ ...r040, cniVersion: '0.3.1' });
  });

  it('brings 0.2.0 up to 1.0.0', () => {
    const r020 = parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.2/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] } }, '0.2.0');
    expect(convertResult(r020, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.1.0.2/16', gateway: '10.1.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
  });

  it('takes the config version when a result has none, and rejects bad results', () => {
    expect(parseResult({ ips: [{ address: '10.0.0.2/24' }] }, '1.0.0').cniVersion).toBe('1.0.0');
    expect(() => parseResult({ cniVersion: '1.0.0', ips: [{ gateway: 'x' }] }, '1.0.0')).toThrow(/ips\.0\.address/);
    expect(() => parseResult({ cniVersion: '3.0.0' }, '1.0.0')).toThrow(/unsupported cniVersion "3.0.0"/);
    expect(() => parseResult('nope', '1.0.0')).toThrow(/not a JSON object/);
    expect(() => convertResult(parseResult({ cniVersion: '1.0.0', ips: [] }, '1.0.0'), '0.2.0')).toThrow(/no IP address/);
  });
});
