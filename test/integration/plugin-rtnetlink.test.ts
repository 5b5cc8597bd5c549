import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IFF } from '../../src/network/rtnetlink/constants.js';
import { SocketNetlinkOpener } from '../../src/network/rtnetlink/socket.js';
import { realSyscalls } from '../../src/sys/index.js';
import { cleanup, inNetns, isRoot, linkExists, sh } from '../helpers/netns.js';

// The rtnetlink socket against the real kernel, in a netns this file creates.
// Names: netns tsp6-rt, bridge tsp6br0rt, veth tsp6rtv0, subnet 10.246.1.0/24.
const NS = 'tsp6-rt';
const NSPATH = `/run/netns/${NS}`;
let opener: SocketNetlinkOpener;

beforeAll(async () => {
  if (!isRoot) return;
  opener = new SocketNetlinkOpener(await realSyscalls());
  sh('ip', ['netns', 'add', NS]);
});
afterAll(() => {
  if (isRoot) cleanup({ netns: [NS], links: ['tsp6br0rt', 'tsp6rtv0'] });
});

describe.skipIf(!isRoot)('rtnetlink socket', () => {
  it('builds a bridge and a veth whose peer lands in the netns, with addresses and routes on both families', () => {
    const host = opener.open();
    const cont = opener.open(NSPATH);
    try {
      const br = host.addBridge('tsp6br0rt', { mtu: 1400 });
      const v = host.addVeth('tsp6rtv0', { name: 'eth0', netns: NSPATH, mtu: 1400 }, { mtu: 1400 });
      host.setMaster(v.index, br.index);
      host.setHairpin(v.index, true);
      host.setPromisc(br.index, true);
      host.setUp(v.index, true);
      host.setUp(br.index, true);
      expect(sh('cat', ['/sys/class/net/tsp6rtv0/brport/hairpin_mode']).trim()).toBe('1');
      expect(host.linkByName('tsp6br0rt')!.flags & IFF.PROMISC).toBeTruthy();
      expect(host.linkByName('tsp6rtv0')).toMatchObject({ kind: 'veth', master: br.index, mtu: 1400 });

      const eth0 = cont.linkByName('eth0')!;
      expect(eth0).toMatchObject({ kind: 'veth', mtu: 1400, peerIndex: v.index });
      cont.setUp(eth0.index, true);
      cont.addAddr(eth0.index, '10.246.1.2/24');
      cont.addAddr(eth0.index, 'fd00:246:1::2/64', { noDad: true });
      cont.addRoute({ dst: '10.246.99.0/24', gateway: '10.246.1.1' });
      cont.addRoute({ dst: '0.0.0.0/0', gateway: '10.246.1.1', oif: eth0.index });
      cont.addRoute({ dst: '::/0', gateway: 'fd00:246:1::1' });
      expect(() => cont.addAddr(eth0.index, '10.246.1.2/24')).toThrow(/EEXIST/);

      const addrs = inNetns(NS, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
      expect(addrs).toContain('inet 10.246.1.2/24 brd 10.246.1.255');
      expect(addrs).toContain('inet6 fd00:246:1::2/64');
      const routes = inNetns(NS, ['ip', 'route']);
      expect(routes).toContain('default via 10.246.1.1 dev eth0');
      expect(routes).toContain('10.246.99.0/24 via 10.246.1.1 dev eth0');
      expect(inNetns(NS, ['ip', '-6', 'route'])).toContain('default via fd00:246:1::1 dev eth0');
      expect(cont.addrs(4)).toContainEqual(expect.objectContaining({ address: '10.246.1.2', prefixLen: 24, index: eth0.index }));
      expect(cont.routes(4)).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gateway: '10.246.1.1' }));
      // the host's own socket does not see the container's links
      expect(host.linkByName('eth0')?.peerIndex === v.index).toBe(false);

      cont.delRoute({ dst: '10.246.99.0/24', gateway: '10.246.1.1' });
      expect(() => cont.delRoute({ dst: '10.246.99.0/24' })).toThrow(/ESRCH/);
      cont.delAddr(eth0.index, '10.246.1.2/24');
      expect(cont.addrs(4).some((a) => a.address === '10.246.1.2')).toBe(false);
      cont.delLink(eth0.index); // takes the host end with it
      expect(linkExists('tsp6rtv0')).toBe(false);
      host.delLink(br.index);
      expect(linkExists('tsp6br0rt')).toBe(false);
    } finally {
      host.close();
      cont.close();
    }
  });

  it('says which namespace is missing, and costs little to open in a netns', () => {
    expect(() => opener.open('/run/netns/tsp6-none')).toThrow(/network namespace \/run\/netns\/tsp6-none does not exist/);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) opener.open(NSPATH).close();
    const perOpen = (performance.now() - t0) / 200;
    console.log(`open netlink socket in a netns: ${(perOpen * 1000).toFixed(0)} µs`);
    expect(perOpen).toBeLessThan(5);
  });
});
