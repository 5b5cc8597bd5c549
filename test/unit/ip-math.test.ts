import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { IFA } from '../../src/network/rtnetlink/constants.js';
import { bytesToIp, cidrContains, ipFamily, ipToBytes, lastAddress } from '../../src/network/rtnetlink/ip.js';
import { addr } from '../../src/network/rtnetlink/messages.js';
import { bigToIp, canonicalizeRange, describeRange, ipToBig, networkOf, rangesOverlap } from '../../src/network/plugins/host-local/range.js';

// Address and range math through ip-num: IPv4, IPv6 and IPv4-mapped IPv6.
describe('addresses as bytes and numbers', () => {
  it('IPv4: 4 bytes in network order, and back', () => {
    expect(ipToBytes('10.0.0.1')).toEqual(Buffer.from([10, 0, 0, 1]));
    expect(bytesToIp(Buffer.from([192, 0, 2, 255]))).toBe('192.0.2.255');
    expect(ipToBig('10.0.0.1')).toBe(0x0a000001n);
    expect(bigToIp(0x0a0000ffn, 4)).toBe('10.0.0.255');
  });

  it('IPv6: 16 bytes, canonical text back (RFC 5952)', () => {
    expect(ipToBytes('fd00::1').toString('hex')).toBe('fd000000000000000000000000000001');
    expect(bytesToIp(Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
    expect(bigToIp(1n, 6)).toBe('::1');
  });

  it('IPv4-mapped IPv6 (::ffff:10.0.0.1) is encoded as ::ffff:0a00:0001', () => {
    expect(ipToBytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(ipToBig('::ffff:10.0.0.1')).toBe(0xffff0a000001n);
    expect(bytesToIp(ipToBytes('::ffff:10.0.0.1'))).toBe('::ffff:a00:1');
  });
});

describe('ranges', () => {
  it('IPv4: gateway .1, range .1–.254 (no broadcast), host bits refused, overlap', () => {
    const r = canonicalizeRange({ subnet: '10.247.30.0/24' });
    expect(describeRange(r)).toBe('10.247.30.1-10.247.30.254');
    expect(bigToIp(r.gateway, 4)).toBe('10.247.30.1');
    expect(() => canonicalizeRange({ subnet: '10.247.30.7/24' })).toThrow(/host bits set.*10\.247\.30\.0/);
    expect(() => canonicalizeRange({ subnet: '10.247.30.0/24', rangeStart: '10.247.31.1' })).toThrow(/not in network/);
    expect(rangesOverlap(r, canonicalizeRange({ subnet: '10.247.30.128/25' }))).toBe(true);
    expect(rangesOverlap(r, canonicalizeRange({ subnet: '10.247.31.0/24' }))).toBe(false);
    expect(networkOf('10.247.30.77/26')).toBe('10.247.30.64/26');
  });

  it('IPv6: the range runs to the last address; IPv4-mapped subnets work too', () => {
    expect(describeRange(canonicalizeRange({ subnet: 'fd00:30::/120' }))).toBe('fd00:30::1-fd00:30::ff');
    expect(networkOf('fd00:30::abcd/112')).toBe('fd00:30::/112');
    expect(describeRange(canonicalizeRange({ subnet: '::ffff:10.0.0.0/120' }))).toBe('::ffff:a00:1-::ffff:a00:ff');
  });
});

describe('rtnetlink address math', () => {
  const broadcastIn = (cidr: string): string | undefined => {
    const a = addr(7, cidr).attrs.find((x) => x.type === IFA.BROADCAST);
    return a && 'data' in a ? bytesToIp(a.data) : undefined;
  };

  it('an IPv4 address gets its block\'s last address as broadcast, none for /31 and /32', () => {
    expect(broadcastIn('10.247.31.5/24')).toBe('10.247.31.255');
    expect(broadcastIn('10.247.31.5/8')).toBe('10.255.255.255');
    expect(broadcastIn('10.247.31.130/25')).toBe('10.247.31.255');
    expect(broadcastIn('10.247.31.4/31')).toBeUndefined();
    expect(broadcastIn('10.247.31.5/32')).toBeUndefined();
    expect(broadcastIn('fd00:31::5/64')).toBeUndefined();
    expect(lastAddress('10.247.31.4/31')).toBe('10.247.31.5');
    expect(lastAddress('10.247.31.5/32')).toBe('10.247.31.5');
    expect(lastAddress('10.247.31.5/0')).toBe('255.255.255.255');
  });

  it('a route\'s prefix contains an address of its own family only', () => {
    expect(cidrContains('10.247.31.0/24', '10.247.31.200')).toBe(true);
    expect(cidrContains('10.247.31.0/24', '10.247.32.1')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '192.0.2.1')).toBe(true);
    expect(cidrContains('0.0.0.0/0', 'fd00::1')).toBe(false);
    expect(cidrContains('fd00:31::/64', 'fd00:31::9')).toBe(true);
    expect(cidrContains('::/0', '10.0.0.1')).toBe(false);
  });
});

describe('ipFamily agrees with node:net isIP', () => {
  // valid and invalid texts, with the corners where a hand check could drift:
  // embedded IPv4, zones, too many groups, double "::", text a URL would cut short
  const cases = [
    '10.0.0.1', '0.0.0.0', '255.255.255.255', '256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4',
    '::', '::1', 'fe80::1', 'FE80::A:b', '2001:db8::8a2e:370:7334', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
    '1::2::3', ':1', '1:', '::ffff:10.0.0.1', '::ffff:10.0.0.256', '::10.0.0.1', '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4', '12345::1', 'g::1', 'fe80::1%eth0', 'fe80::1%', '::1]/x', '[::1]', '::1/64',
    '', ':', ':::', '1.2.3.4:80', 'localhost', '0::0', '0000:0000:0000:0000:0000:0000:0000:0001', '::0:0:0:0:0:0:0:1',
  ];
  it.each(cases)('%j', (text) => {
    expect(ipFamily(text)).toBe(isIP(text));
  });
});
