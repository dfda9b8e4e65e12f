// Pure encoders/decoders of the native and net layers, checked against byte fixtures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SCM_TIMESTAMPNS, SOL_SOCKET } from '../src/native/constants.js';
import { buildCmsgs, decodePacketInfo, ipv6HopLimit, ipv6PktInfo, ipPktInfo, parseCmsgs } from '../src/native/cmsg.js';
import { formatIPv6, parseIPv4, parseIPv6, parseMac, formatMac, ipFamily, AddressError, parseRoutePrefix, PrefixError } from '../src/util/inet.js';
import { decodeSockaddr, sockaddrIn, sockaddrIn6, sockaddrLl, sockaddrNl, sockaddrUn } from '../src/native/sockaddr.js';
import { errnoName, SystemError } from '../src/native/errno.js';
import { parseIpv4Header } from '../src/net/ip-header.js';
import { internetChecksum } from '../src/util/internet-checksum.js';
import { decodeAttrs, decodeError, decodeMessages, encodeMessage, NLMSG_ERROR, NetlinkDecodeError } from '../src/net/netlink-codec.js';
import { encodeAddress, decodeAddress, AddressSpecError } from '../src/net/rtnl-addr.js';
import { decodeLink } from '../src/net/rtnl-link.js';
import { decodeRoute, encodeRoute } from '../src/net/rtnl-route.js';
import { decodeRule, encodeRule } from '../src/net/rtnl-rule.js';

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

describe('inet addresses', () => {
  it('parses and formats IPv6 per RFC 5952', () => {
    assert.equal(formatIPv6(parseIPv6('2001:DB8:0:0:0:0:0:1')), '2001:db8::1');
    assert.equal(formatIPv6(parseIPv6('fe80::1%eth0')), 'fe80::1');
    assert.equal(formatIPv6(parseIPv6('::')), '::');
    assert.equal(formatIPv6(parseIPv6('2001:db8:0:1:0:0:1:1')), '2001:db8:0:1::1:1');
    assert.equal(formatIPv6(parseIPv6('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatIPv6(parseIPv6('::ffff:10.1.2.3')), '::ffff:10.1.2.3');
    assert.equal(parseIPv6('ff02::12').toString('hex'), 'ff020000000000000000000000000012');
  });
  it('round-trips random IPv6 addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const b = Buffer.from(bytes);
        assert.deepEqual(parseIPv6(formatIPv6(b)), b);
      }),
    );
  });
  it('rejects bad input with a clear error', () => {
    assert.throws(() => parseIPv4('10.0.0.256'), AddressError);
    assert.throws(() => parseIPv6('fe80:::1'), /invalid IP address "fe80:::1"/);
    assert.throws(() => parseMac('00:11:22'), /not a MAC address/);
    assert.equal(ipFamily('10.1.1.1'), 4);
    assert.equal(ipFamily('fe80::1%eth0'), 6);
    assert.equal(ipFamily('eth0'), 0);
    assert.equal(formatMac(parseMac('02:AA:0b:0c:0d:0e')), '02:aa:0b:0c:0d:0e');
  });
});

describe('sockaddr', () => {
  it('encodes sockaddr_in / in6 / ll / nl / un in the Linux layout', () => {
    const fam = (n: number) => (LE ? [n, 0] : [0, n]);
    assert.deepEqual([...sockaddrIn('224.0.0.18', 0x1234)], [...fam(2), 0x12, 0x34, 224, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0]);
    const s6 = sockaddrIn6('ff02::12', 0, 7);
    assert.equal(s6.length, 28);
    assert.deepEqual(decodeSockaddr(s6), { family: 'inet6', address: 'ff02::12', port: 0, flowInfo: 0, scopeId: 7 });
    const ll = sockaddrLl({ ifindex: 3, protocol: 0x0806, mac: Buffer.alloc(6, 0xff) });
    assert.equal(ll.length, 20);
    assert.deepEqual(decodeSockaddr(ll), { family: 'packet', protocol: 0x0806, ifindex: 3, hatype: 0, pktType: 0, mac: 'ff:ff:ff:ff:ff:ff' });
    assert.deepEqual(decodeSockaddr(sockaddrNl(0, 0x11)), { family: 'netlink', pid: 0, groups: 0x11 });
    assert.deepEqual(decodeSockaddr(sockaddrUn('@abstract')), { family: 'unix', path: '@abstract' });
    assert.deepEqual(decodeSockaddr(sockaddrUn('/run/x.sock')), { family: 'unix', path: '/run/x.sock' });
    assert.throws(() => sockaddrUn('/'.repeat(200)), /too long/);
  });
});

describe('ancillary data', () => {
  it('builds and parses IPV6_PKTINFO / IPV6_HOPLIMIT / IP_PKTINFO', () => {
    const ctl = buildCmsgs([ipv6HopLimit(254), ipv6PktInfo('ff02::12', 5)]);
    assert.equal(ctl.length, 2 * 16 + 8 + 24); // CMSG_SPACE(4) + CMSG_SPACE(20) on 64-bit
    const msgs = parseCmsgs(ctl);
    assert.equal(msgs.length, 2);
    assert.deepEqual(decodePacketInfo(msgs), { hopLimit: 254, dst: 'ff02::12', ifindex: 5 });
    // IP_PKTINFO as the kernel fills it: ifindex, spec_dst, addr (header destination)
    const v4 = ipPktInfo('10.0.0.1', 9);
    Buffer.from([224, 0, 0, 18]).copy(v4.data, 8);
    assert.deepEqual(decodePacketInfo(parseCmsgs(buildCmsgs([v4]))), { ifindex: 9, dst: '224.0.0.18' });
    // a truncated control buffer yields the complete messages only
    assert.equal(parseCmsgs(ctl, 20).length, 1);
  });

  it('reads the kernel receive time of SCM_TIMESTAMPNS (struct timespec) in ms since the epoch', () => {
    const ts = Buffer.alloc(16);
    ts.writeBigInt64LE(1_796_313_000n, 0); // tv_sec
    ts.writeBigInt64LE(250_500_000n, 8); // tv_nsec
    const info = decodePacketInfo(parseCmsgs(buildCmsgs([{ level: SOL_SOCKET, type: SCM_TIMESTAMPNS, data: ts }])));
    assert.equal(info.receivedAt, 1_796_313_000_250.5);
  });
});

describe('errno naming', () => {
  it('names errno numbers through os.constants.errno', () => {
    assert.equal(errnoName(17), 'EEXIST');
    assert.equal(errnoName(-19), 'ENODEV');
    const e = new SystemError('bind', -99, 'vrrp eth0');
    assert.equal(e.code, 'EADDRNOTAVAIL');
    assert.match(e.message, /bind \(vrrp eth0\) failed: EADDRNOTAVAIL \(cannot assign requested address\)/);
  });
});

describe('IPv4 header and checksums', () => {
  it('reads TTL, protocol and addresses; rejects non-IPv4', () => {
    const pkt = Buffer.from('45c00018' + '00004000' + 'ff700000' + '0a4d0001' + 'e0000012' + '21339602', 'hex');
    const h = parseIpv4Header(pkt)!;
    assert.equal(h.ttl, 255);
    assert.equal(h.protocol, 112);
    assert.equal(h.src, '10.77.0.1');
    assert.equal(h.dst, '224.0.0.18');
    assert.equal(h.headerLength, 20);
    assert.equal(h.totalLength, pkt.length);
    assert.equal(parseIpv4Header(Buffer.from('6000', 'hex')), undefined);
  });
  it('verifies the checksums of the keepalived captures', () => {
    const dir = new URL('../../test/fixtures/vrrp/', import.meta.url);
    const v2 = Buffer.from(readFileSync(new URL('v2-ipv4-auth-pass.hex', dir), 'utf8').trim(), 'hex');
    assert.equal(internetChecksum(v2), 0);
    const v3 = Buffer.from(readFileSync(new URL('v3-ipv4.hex', dir), 'utf8').trim(), 'hex');
    const pseudo = Buffer.from([10, 77, 0, 1, 224, 0, 0, 18, 0, 112, 0, v3.length]);
    assert.equal(internetChecksum(pseudo, v3), 0);
    assert.notEqual(internetChecksum(pseudo, Buffer.concat([v3.subarray(0, 5), Buffer.from([0]), v3.subarray(6)])), 0);
  });
  it('odd lengths: the checksum of parts is the checksum of their concatenation, an odd end padded with zero', () => {
    // RFC 1071 section 3 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d
    const rfc = Buffer.from('0001f203f4f5f6f7', 'hex');
    assert.equal(internetChecksum(rfc), 0x220d);
    assert.equal(internetChecksum(rfc.subarray(0, 3), rfc.subarray(3, 4), Buffer.alloc(0), rfc.subarray(4)), 0x220d);
    // odd total length: the last byte is the high byte of a word padded with zero
    assert.equal(internetChecksum(Buffer.from([0x01])), ~0x0100 & 0xffff);
    assert.equal(internetChecksum(Buffer.from('0001f203f4', 'hex')), internetChecksum(Buffer.from('0001f203f400', 'hex')));
    for (let len = 1; len <= 33; len++) {
      const whole = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + 11) & 0xff));
      const want = internetChecksum(Buffer.concat([whole, Buffer.alloc(len % 2)]));
      for (let cut = 0; cut <= len; cut++) {
        assert.equal(internetChecksum(whole.subarray(0, cut), whole.subarray(cut)), want, `len ${len} cut ${cut}`);
      }
    }
  });
});

/** Netlink message bytes in host order, as the kernel would produce them on this machine. */
function nlBytes(parts: (number | [number, 2] | [number, 4] | Buffer | string)[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(Buffer.from([p]));
    else if (typeof p === 'string') out.push(Buffer.from(p, 'hex'));
    else if (Buffer.isBuffer(p)) out.push(p);
    else {
      const b = Buffer.alloc(p[1]);
      if (p[1] === 2) LE ? b.writeUInt16LE(p[0]) : b.writeUInt16BE(p[0]);
      else LE ? b.writeUInt32LE(p[0]) : b.writeUInt32BE(p[0]);
      out.push(b);
    }
  }
  return Buffer.concat(out);
}

describe('netlink codec', () => {
  it('encodes RTM_NEWADDR for an IPv6 VIP with NODAD exactly like iproute2 would', () => {
    const payload = encodeAddress({ address: 'fd00::100', prefixLen: 64, ifindex: 2, noDad: true });
    const expected = nlBytes([
      10,
      64,
      0x02,
      0,
      [2, 4], // ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, global scope, ifindex 2
      [20, 2],
      [2, 2],
      'fd000000000000000000000000000100', // IFA_LOCAL
      [20, 2],
      [1, 2],
      'fd000000000000000000000000000100', // IFA_ADDRESS
      [8, 2],
      [8, 2],
      [2, 4], // IFA_FLAGS = NODAD
    ]);
    assert.deepEqual(payload, expected);
    const msg = encodeMessage({ type: 20, flags: 0x605, seq: 7, payload });
    const [m] = decodeMessages(msg);
    assert.equal(m.type, 20);
    assert.equal(m.seq, 7);
    assert.deepEqual(decodeAddress(m), { family: 6, address: 'fd00::100', prefixLen: 64, ifindex: 2, scope: 0, flags: 2 });
  });
  it('encodes IPv4 broadcast, label and scope; rejects nonsense', () => {
    const p = encodeAddress({ address: '10.1.0.100', prefixLen: 24, ifindex: 3, broadcast: '10.1.0.255', label: 'eth0:vip', scope: 'link' });
    const a = decodeAddress({ type: 20, flags: 0, seq: 0, pid: 0, payload: p });
    assert.deepEqual(a, { family: 4, address: '10.1.0.100', prefixLen: 24, ifindex: 3, scope: 253, flags: 0, broadcast: '10.1.0.255', label: 'eth0:vip' });
    assert.throws(() => encodeAddress({ address: '10.1.0.1', prefixLen: 33, ifindex: 1 }), AddressSpecError);
    assert.throws(() => encodeAddress({ address: 'fd::1', prefixLen: 64, ifindex: 1, label: 'x' }), /labels exist only for IPv4/);
    assert.throws(() => encodeAddress({ address: '10.0.0.1', prefixLen: 8, ifindex: 1, scope: 'galaxy' }), /unknown scope "galaxy"/);
  });
  it('decodes NLMSG_ERROR with an extended ack message', () => {
    const orig = encodeMessage({ type: 20, flags: 5, seq: 42, payload: Buffer.alloc(8) });
    const err = nlBytes([[-17 >>> 0, 4], orig.subarray(0, 16), [27, 2], [1, 2], Buffer.from('Address already exists\0\0')]);
    // capped (0x100) + ack TLVs (0x200): only the request header is echoed
    const [m] = decodeMessages(encodeMessage({ type: NLMSG_ERROR, flags: 0x300, seq: 42, payload: err }));
    assert.deepEqual(decodeError(m), { errno: 17, seq: 42, message: 'Address already exists' });
  });
  it('decodes a link message and refuses a corrupt length', () => {
    const payload = nlBytes([
      0,
      0,
      [1, 2],
      [4, 4],
      [0x11043, 4],
      [0, 4],
      [10, 2],
      [3, 2],
      Buffer.from('veth0\0\0\0'),
      [10, 2],
      [1, 2],
      '02000000770100 00'.replace(/ /g, ''),
    ]);
    const l = decodeLink({ type: 16, flags: 0, seq: 0, pid: 0, payload });
    assert.equal(l.name, 'veth0');
    assert.equal(l.index, 4);
    assert.equal(l.up, true);
    assert.equal(l.running, true);
    assert.equal(l.lowerUp, true);
    assert.equal(l.mac, '02:00:00:00:77:01');
    assert.equal(decodeAttrs(Buffer.from([0xff, 0xff, 1, 0])).length, 0);
    const bad = encodeMessage({ type: 16, flags: 0, payload: Buffer.alloc(4) });
    bad.writeUInt8(200, LE ? 0 : 3);
    assert.throws(() => decodeMessages(bad), NetlinkDecodeError);
  });
  it('encodes routes: gateway + metric in main, blackhole in table 1000, delete matches any scope', () => {
    const gw = encodeRoute({ dst: '10.201.0.0/24', gateway: '10.1.0.2', metric: 50 });
    assert.deepEqual(
      gw,
      nlBytes([
        2,
        24,
        0,
        0,
        254,
        18,
        0,
        1,
        [0, 4], // rtmsg: AF_INET /24, table main, proto keepalived, universe, unicast
        [8, 2],
        [1, 2],
        '0ac90000', // RTA_DST
        [8, 2],
        [5, 2],
        '0a010002', // RTA_GATEWAY
        [8, 2],
        [6, 2],
        [50, 4], // RTA_PRIORITY
        [8, 2],
        [15, 2],
        [254, 4], // RTA_TABLE
      ]),
    );
    const bh = encodeRoute({ dst: 'fd00::/8', type: 'blackhole', table: 1000 }, true);
    assert.deepEqual(bh.subarray(0, 12), nlBytes([10, 8, 0, 0, 0, 18, 255, 6, [0, 4]])); // table > 255 lives in RTA_TABLE only
    const r = decodeRoute({ type: 24, flags: 0, seq: 0, pid: 0, payload: bh });
    assert.deepEqual(r, { family: 6, dst: { address: 'fd00::', prefixLen: 8, family: 6 }, table: 1000, scope: 255, type: 'blackhole', protocol: 18 });
    assert.equal(encodeRoute({ dst: '10.2.0.0/16', oif: 3 })[6], 253, 'a device route without gateway is link scope');
    assert.throws(() => encodeRoute({ dst: 'default' }), /cannot tell the address family/);
  });
  it('encodes rules: from/table/preference/fwmark and round-trips them', () => {
    const b = encodeRule({ family: 4, from: '10.1.0.0/16', table: 100, preference: 1000, fwmark: 16, fwmask: 255 });
    assert.deepEqual(
      b,
      nlBytes([
        2,
        0,
        16,
        0,
        100,
        0,
        0,
        1,
        [0, 4], // fib_rule_hdr: src_len 16, table 100, FR_ACT_TO_TBL
        [8, 2],
        [2, 2],
        '0a010000', // FRA_SRC
        [8, 2],
        [15, 2],
        [100, 4], // FRA_TABLE
        [8, 2],
        [6, 2],
        [1000, 4], // FRA_PRIORITY
        [8, 2],
        [10, 2],
        [16, 4], // FRA_FWMARK
        [8, 2],
        [16, 2],
        [255, 4], // FRA_FWMASK
        [5, 2],
        [21, 2],
        18,
        0,
        0,
        0, // FRA_PROTOCOL keepalived
      ]),
    );
    assert.deepEqual(decodeRule({ type: 32, flags: 0, seq: 0, pid: 0, payload: b }), {
      family: 4,
      from: '10.1.0.0/16',
      table: 100,
      action: 'table',
      invert: false,
      preference: 1000,
      fwmark: 16,
      fwmask: 255,
    });
    assert.throws(() => encodeRule({ family: 4, action: 'teleport' }), /unknown action "teleport"/);
  });
  it('parses prefixes', () => {
    assert.deepEqual(parseRoutePrefix('10.0.0.1'), { address: '10.0.0.1', prefixLen: 32, family: 4 });
    assert.deepEqual(parseRoutePrefix('default', 6), { address: '::', prefixLen: 0, family: 6 });
    assert.throws(() => parseRoutePrefix('10.0.0.0/33'), PrefixError);
    assert.throws(() => parseRoutePrefix('fd00::/64', 4), /expected an IPv4 prefix/);
  });
});
