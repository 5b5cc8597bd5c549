import { describe, expect, it } from 'vitest';
import { decodeAttrs, decodeMessages, encodeAttrs, encodeMessage, nest, str, u32 } from '../../src/network/rtnetlink/codec.js';
import { IFLA, IFLA_INFO, NLA_F_NESTED, NLM_F, RTM, VETH_INFO_PEER } from '../../src/network/rtnetlink/constants.js';
import { FakeNetlinkOpener } from '../../src/network/rtnetlink/fake.js';
import { bytesToIp, canonicalIp, ipToBytes, parseCidr } from '../../src/network/rtnetlink/ip.js';
import * as m from '../../src/network/rtnetlink/messages.js';
import { isErrno } from '../../src/network/rtnetlink/netlink.js';
import { SocketNetlink } from '../../src/network/rtnetlink/socket.js';
import { FakeSyscalls } from '../../src/sys/fake.js';

describe('rtnetlink wire format', () => {
  it('pads attributes to 4 bytes and decodes them back, nested ones too', () => {
    const buf = encodeAttrs([str(IFLA.IFNAME, 'eth0'), nest(IFLA.PROTINFO, [u32(1, 7)], true)]);
    expect(buf.length).toBe(12 + 12);
    expect(buf.readUInt16LE(0)).toBe(9); // 4 + "eth0\0"
    expect(buf.readUInt16LE(14)).toBe(IFLA.PROTINFO | NLA_F_NESTED);
    const a = decodeAttrs(buf);
    expect(a.get(IFLA.IFNAME)!.toString()).toBe('eth0\0');
    expect(decodeAttrs(a.get(IFLA.PROTINFO)!).get(1)!.readUInt32LE(0)).toBe(7);
  });

  it('frames messages with length, type, flags and seq', () => {
    const b = m.newBridge('br0', 1400);
    const msg = encodeMessage(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.CREATE, 9, b.header, b.attrs);
    const [d] = decodeMessages(msg);
    expect(msg.readUInt32LE(0)).toBe(msg.length);
    expect(d).toMatchObject({ type: RTM.NEWLINK, seq: 9, flags: NLM_F.REQUEST | NLM_F.CREATE });
    const link = m.parseLink(d!.payload);
    expect(link).toMatchObject({ name: 'br0', mtu: 1400, kind: 'bridge' });
  });

  it('puts a veth peer (name, netns fd) inside IFLA_LINKINFO/INFO_DATA/VETH_INFO_PEER', () => {
    const b = m.newVeth('veth1', { name: 'eth0', mtu: 1450 }, 33, { mtu: 1450 });
    const info = decodeAttrs(decodeAttrs(encodeAttrs(b.attrs)).get(IFLA.LINKINFO)!);
    expect(info.get(IFLA_INFO.KIND)!.toString()).toBe('veth\0');
    const peer = decodeAttrs(info.get(IFLA_INFO.DATA)!).get(VETH_INFO_PEER)!;
    const peerAttrs = decodeAttrs(peer.subarray(16));
    expect(peerAttrs.get(IFLA.IFNAME)!.toString()).toBe('eth0\0');
    expect(peerAttrs.get(IFLA.NET_NS_FD)!.readUInt32LE(0)).toBe(33);
  });

  it('encodes routes and addresses for both families and parses them back', () => {
    const r = m.route({ dst: '10.246.9.0/24', gateway: '10.246.8.1', oif: 3 });
    expect(m.parseRoute(Buffer.concat([r.header, encodeAttrs(r.attrs)]))).toMatchObject({ family: 4, dst: '10.246.9.0/24', gateway: '10.246.8.1', oif: 3, table: 254 });
    const d = m.route({ dst: '::/0', gateway: 'fd00:246::1' });
    expect(m.parseRoute(Buffer.concat([d.header, encodeAttrs(d.attrs)]))).toMatchObject({ family: 6, dst: '::/0', gateway: 'fd00:246::1' });
    const a = m.addr(5, 'fd00:246::5/64');
    expect(m.parseAddr(Buffer.concat([a.header, encodeAttrs(a.attrs)]))).toEqual({ index: 5, family: 6, address: 'fd00:246::5', prefixLen: 64, scope: 0, flags: 0 });
  });

  it('converts IPs to bytes and back, printing IPv6 canonically', () => {
    expect(bytesToIp(ipToBytes('10.246.1.2'))).toBe('10.246.1.2');
    expect(bytesToIp(ipToBytes('fd00:0:0::0:1'))).toBe('fd00::1');
    expect(canonicalIp('FD00:0000::01')).toBe('fd00::1');
    expect(parseCidr('fd00::1/64')).toEqual({ address: 'fd00::1', prefixLen: 64, family: 6 });
    expect(() => parseCidr('10.0.0.1/33')).toThrow(/invalid CIDR/);
  });
});

describe('SocketNetlink over the Syscalls seam', () => {
  class Scripted extends FakeSyscalls {
    replies: Buffer[] = [];
    override recvfrom(fd: number, buf: Buffer, flags: number): number {
      super.recvfrom(fd, buf, flags);
      const seq = (this.calls.filter((c) => c.name === 'sendto').at(-1)!.args[1] as Buffer).readUInt32LE(8);
      const r = this.replies.shift()!;
      r.writeUInt32LE(seq, 8);
      r.copy(buf);
      return r.length;
    }
  }
  const errorReply = (errno: number): Buffer => {
    const payload = Buffer.alloc(20);
    payload.writeInt32LE(-errno, 0);
    return encodeMessage(2, 0, 0, payload, []);
  };

  it('sends one request and turns a negative errno ack into a NetlinkError naming the request', () => {
    const sys = new Scripted();
    sys.replies.push(errorReply(17));
    const nl = new SocketNetlink(sys, 7);
    expect(() => nl.addBridge('tsp6br0')).toThrow(/netlink add bridge "tsp6br0": EEXIST: file exists/);
    const sent = sys.calls.find((c) => c.name === 'sendto')!.args[1] as Buffer;
    expect(sent.readUInt16LE(4)).toBe(RTM.NEWLINK);
    expect(sent.readUInt16LE(6)).toBe(NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  });

  it('collects a dump until NLMSG_DONE', () => {
    const sys = new Scripted();
    const b = m.newBridge('a');
    const part = encodeMessage(RTM.NEWLINK, NLM_F.MULTI, 0, b.header, b.attrs);
    sys.replies.push(part, encodeMessage(3, NLM_F.MULTI, 0, Buffer.alloc(4), []));
    expect(new SocketNetlink(sys, 7).links().map((l) => l.name)).toEqual(['a']);
  });
});

describe('FakeNetlink', () => {
  it('creates a veth across namespaces; deleting one end removes both and their addresses', () => {
    const world = new FakeNetlinkOpener();
    world.addNamespace('/run/netns/c');
    const host = world.open();
    const cont = world.open('/run/netns/c');
    const h = host.addVeth('veth0', { name: 'eth0', netns: '/run/netns/c' });
    const c = cont.linkByName('eth0')!;
    expect(c.peerIndex).toBe(h.index);
    cont.addAddr(c.index, '10.246.0.2/24');
    expect(() => cont.addAddr(c.index, '10.246.0.2/24')).toThrow(/EEXIST/);
    host.delLink(h.index);
    expect(cont.linkByName('eth0')).toBeUndefined();
    expect(cont.addrs()).toEqual([]);
  });

  it('fails scripted calls and a missing netns the way the kernel does', () => {
    const world = new FakeNetlinkOpener().failOn('addBridge', 'EPERM');
    let err: unknown;
    try {
      world.open().addBridge('x');
    } catch (e) {
      err = e;
    }
    expect(isErrno(err, 'EPERM')).toBe(true);
    expect(() => world.open('/run/netns/gone')).toThrow(/does not exist/);
  });
});
