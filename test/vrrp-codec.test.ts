import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from './vrrp-fixtures.js';
import fc from 'fast-check';
import { decodeAdvert, encodeAdvert, parseIpPacket, verifyChecksum, passwordBytes } from '../src/vrrp/packet.js';
import { canonicalIp, compareIp, formatIP, parseIP } from '../src/util/inet.js';

function decodeFixture(name: string) {
  const ip = parseIpPacket(fixture(name));
  assert.ok(ip.ok);
  const d = decodeAdvert(ip.ip.payload, ip.ip.family);
  assert.ok(d.ok, JSON.stringify(d));
  return { ip: ip.ip, advert: d.advert };
}

test('decodes a keepalived VRRPv2 PASS advert and re-encodes it byte for byte', () => {
  const { ip, advert } = decodeFixture('core-v2-pass-vrid51.hex');
  assert.equal(ip.ttl, 255);
  assert.equal(ip.protocol, 112);
  assert.equal(ip.src, '10.201.0.1');
  assert.equal(ip.dst, '224.0.0.18');
  assert.equal(advert.version, 2);
  assert.equal(advert.type, 1);
  assert.equal(advert.vrid, 51);
  assert.equal(advert.priority, 150);
  assert.equal(advert.advertIntMs, 1000);
  assert.equal(advert.authType, 1);
  assert.deepEqual(advert.addresses, ['10.201.0.100', '10.201.0.101']);
  // "secret123" truncated to 8 bytes by keepalived
  assert.equal(advert.authData.toString('latin1'), 'secret12');
  assert.ok(verifyChecksum(ip.payload, 2, ip.src, ip.dst));
  const re = encodeAdvert(
    { version: 2, vrid: 51, priority: 150, family: 4, addresses: advert.addresses, advertIntMs: 1000, authPass: 'secret123' },
    ip.src,
    ip.dst,
  );
  assert.equal(re.toString('hex'), ip.payload.toString('hex'));
});

test('decodes keepalived priority-0 adverts (v2, v3 IPv4, v3 IPv6)', () => {
  for (const f of ['core-v2-pass-vrid51-prio0.hex', 'core-v3-ipv4-vrid53-prio0.hex', 'core-v3-ipv6-vrid54-prio0.hex']) {
    const { ip, advert } = decodeFixture(f);
    assert.equal(advert.priority, 0, f);
    assert.ok(verifyChecksum(ip.payload, advert.version, ip.src, ip.dst), f);
  }
});

test('VRRPv3 IPv4: centisecond interval and pseudo-header checksum match keepalived', () => {
  const { ip, advert } = decodeFixture('core-v3-ipv4-vrid53.hex');
  assert.equal(advert.version, 3);
  assert.equal(advert.advertIntMs, 500);
  assert.equal(advert.vrid, 53);
  assert.deepEqual(advert.addresses, ['10.201.0.103']);
  assert.ok(verifyChecksum(ip.payload, 3, ip.src, ip.dst));
  assert.ok(!verifyChecksum(ip.payload, 3, ip.src, '224.0.0.19'), 'pseudo-header must include dst');
  const re = encodeAdvert({ version: 3, vrid: 53, priority: 130, family: 4, addresses: ['10.201.0.103'], advertIntMs: 500 }, ip.src, ip.dst);
  assert.equal(re.toString('hex'), ip.payload.toString('hex'));
});

test('VRRPv3 IPv6: hop limit, link-local source, checksum and re-encoding', () => {
  const { ip, advert } = decodeFixture('core-v3-ipv6-vrid54.hex');
  assert.equal(ip.family, 6);
  assert.equal(ip.ttl, 255);
  assert.equal(ip.src, 'fe80::d0a2:68ff:fe78:ec9b');
  assert.equal(ip.dst, 'ff02::12');
  assert.equal(advert.advertIntMs, 1000);
  assert.deepEqual(advert.addresses, ['fd21::100']);
  assert.ok(verifyChecksum(ip.payload, 3, ip.src, ip.dst));
  const re = encodeAdvert({ version: 3, vrid: 54, priority: 140, family: 6, addresses: ['fd21::100'], advertIntMs: 1000 }, ip.src, ip.dst);
  assert.equal(re.toString('hex'), ip.payload.toString('hex'));
});

test('decode errors are named values, never exceptions', () => {
  assert.deepEqual(decodeAdvert(Buffer.alloc(3), 4).ok, false);
  const r = decodeAdvert(Buffer.from('41330101', 'hex'), 4);
  assert.equal(r.ok, false);
  const bad = decodeAdvert(Buffer.from('4133960201010000', 'hex'), 4);
  assert.ok(!bad.ok && bad.reason === 'bad-version');
  const short = decodeAdvert(Buffer.from('2133960201010000', 'hex'), 4);
  assert.ok(!short.ok && short.reason === 'length-mismatch');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom<4 | 6>(4, 6), (bytes, fam) => {
      decodeAdvert(Buffer.from(bytes), fam);
      parseIpPacket(Buffer.from(bytes));
    }),
  );
});

test('encode/decode round trip for random adverts', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
  const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIP(Buffer.from(b)));
  fc.assert(
    fc.property(
      fc.constantFrom<2 | 3>(2, 3),
      fc.integer({ min: 1, max: 255 }),
      fc.nat(255),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      (version, vrid, priority, ivUnits, six) => {
        const family = six && version === 3 ? 6 : 4;
        const addresses = fc.sample(family === 4 ? v4 : v6, 3);
        const advertIntMs = version === 2 ? ivUnits * 1000 : ivUnits * 10;
        const src = family === 4 ? '10.0.0.1' : 'fe80::1';
        const dst = family === 4 ? '224.0.0.18' : 'ff02::12';
        const buf = encodeAdvert({ version, vrid, priority, family, addresses, advertIntMs, authPass: version === 2 ? 'pw' : undefined }, src, dst);
        const d = decodeAdvert(buf, family);
        assert.ok(d.ok);
        assert.equal(d.advert.vrid, vrid);
        assert.equal(d.advert.priority, priority);
        assert.equal(d.advert.advertIntMs, advertIntMs);
        assert.deepEqual(d.advert.addresses, addresses);
        assert.ok(verifyChecksum(buf, version, src, dst));
        buf[2] ^= 1;
        assert.ok(!verifyChecksum(buf, version, src, dst));
      },
    ),
    { numRuns: 200 },
  );
});

test('IP address helpers', () => {
  assert.equal(canonicalIp('FD21:0:0:0::0100'), 'fd21::100');
  assert.equal(canonicalIp('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  assert.equal(canonicalIp('::'), '::');
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail, as iproute2 prints them
  assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  assert.equal(parseIP('10.1.2.3').toString('hex'), '0a010203');
  assert.ok(compareIp('10.0.0.2', '10.0.0.10') < 0);
  assert.equal(passwordBytes('abcdefghij').toString(), 'abcdefgh');
  assert.equal(passwordBytes('ab').toString('hex'), '6162000000000000');
});

test("vrrpnet's keepalived fixtures (VRRP payloads) decode, verify and re-encode byte for byte", () => {
  const cases: [string, { version: 2 | 3; vrid: number; priority: number; ms: number; pass?: string; addrs: string[]; family: 4 | 6 }][] = [
    ['v2-ipv4-auth-pass.hex', { version: 2, vrid: 51, priority: 150, ms: 1000, pass: 'secret1', addrs: ['10.77.0.100', '10.77.0.101'], family: 4 }],
    ['v2-ipv4-noauth.hex', { version: 2, vrid: 53, priority: 100, ms: 2000, addrs: ['10.77.0.110'], family: 4 }],
    ['v3-ipv4.hex', { version: 3, vrid: 54, priority: 200, ms: 1000, addrs: ['10.77.0.120', '10.77.0.121', '10.77.0.122'], family: 4 }],
    ['v3-ipv4-advert-centisec.hex', { version: 3, vrid: 55, priority: 254, ms: 500, addrs: ['10.77.0.130'], family: 4 }],
    ['v3-ipv6.hex', { version: 3, vrid: 52, priority: 200, ms: 1000, addrs: ['fd77::100', 'fd77::101'], family: 6 }],
  ];
  for (const [file, c] of cases) {
    const buf = fixture(file);
    const d = decodeAdvert(buf, c.family);
    assert.ok(d.ok, file);
    assert.equal(d.advert.vrid, c.vrid, file);
    assert.equal(d.advert.priority, c.priority, file);
    assert.equal(d.advert.advertIntMs, c.ms, file);
    assert.deepEqual(d.advert.addresses, c.addrs, file);
    const src = c.family === 4 ? '10.77.0.1' : 'fe80::ff:fe77:1';
    const dst = c.family === 4 ? '224.0.0.18' : 'ff02::12';
    assert.ok(verifyChecksum(buf, c.version, src, dst), file);
    const re = encodeAdvert(
      { version: c.version, vrid: c.vrid, priority: c.priority, family: c.family, addresses: c.addrs, advertIntMs: c.ms, authPass: c.pass },
      src,
      dst,
    );
    assert.equal(re.toString('hex'), buf.toString('hex'), file);
  }
});
