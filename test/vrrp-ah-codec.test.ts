// The AH codec (src/vrrp/ah.ts) and counters (src/vrrp/ah-counter.ts) against datagrams captured
// from keepalived 2.2.7 with auth_type AH (test/fixtures/vrrp/ah-*.hex, see capture-ah.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from './vrrp-fixtures.js';
import { createHmac } from 'node:crypto';
import { AH_HEADER_LEN, buildAhDatagram, IPV4_HEADER_LEN, openAhDatagram } from '../src/vrrp/ah.js';
import { AhCounter } from '../src/vrrp/ah-counter.js';
import { AUTH_AH, decodeAdvert, encodeAdvert, verifyChecksum } from '../src/vrrp/packet.js';
import { checkAdvert, type ReceiveExpectations } from '../src/vrrp/receive-checks.js';

const MCAST = 'ah-v2-mcast-vrid42.hex';
const PRIO0 = 'ah-v2-mcast-vrid42-prio0.hex';
const UNICAST = 'ah-v2-unicast-vrid43.hex';

test('keepalived AH datagrams: the ICV verifies with the right auth_pass and the VRRP inside is a valid v2 advert of auth type 2', () => {
  for (const [name, pass, unicast, vrid, prio, seq] of [
    [MCAST, 's3cret', false, 42, 150, 1],
    [PRIO0, 's3cret', false, 42, 0, 7],
    [UNICAST, 'longpassword', true, 43, 120, 1],
  ] as const) {
    const d = fixture(name);
    const r = openAhDatagram(d, pass, unicast);
    assert.ok(r.ok, `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.seq, seq);
    assert.equal(r.src, '10.77.0.1');
    assert.equal(r.ttl, 255);
    assert.equal(r.vrrp.length, d.length - IPV4_HEADER_LEN - AH_HEADER_LEN);
    const a = decodeAdvert(r.vrrp, 4);
    assert.ok(a.ok);
    assert.equal(a.advert.vrid, vrid);
    assert.equal(a.advert.priority, prio);
    assert.equal(a.advert.authType, AUTH_AH);
    assert.deepEqual([...a.advert.authData], [0, 0, 0, 0, 0, 0, 0, 0], 'the VRRP authentication bytes stay zero');
    assert.ok(verifyChecksum(r.vrrp, 2, r.src, r.dst));
  }
});

test('the ICV fails with a wrong auth_pass, only the first 8 bytes of auth_pass count', () => {
  const r = openAhDatagram(fixture(MCAST), 'S3cret', false);
  assert.ok(!r.ok);
  assert.equal(r.reason, 'icv-mismatch');
  assert.equal(openAhDatagram(fixture(MCAST), 's3cret\0', false).ok, true, 'NUL padding is the same key');
  assert.equal(openAhDatagram(fixture(UNICAST), 'longpass', true).ok, true, 'keepalived keeps 8 bytes');
  assert.equal(openAhDatagram(fixture(UNICAST), 'longpasX', true).ok, false);
});

test('what the ICV covers: TOS, fragment field, checksum (and TTL for unicast) may change; id, TTL (multicast), addresses, AH and VRRP may not', () => {
  const base = fixture(MCAST);
  const mutate = (f: (b: Buffer) => void) => {
    const b = Buffer.from(base);
    f(b);
    return openAhDatagram(b, 's3cret', false).ok;
  };
  assert.equal(
    mutate((b) => (b[1] = 0x10)),
    true,
    'TOS',
  );
  assert.equal(
    mutate((b) => b.writeUInt16BE(0x4000, 6)),
    true,
    'DF flag',
  );
  assert.equal(
    mutate((b) => b.writeUInt16BE(0, 10)),
    true,
    'header checksum',
  );
  assert.equal(
    mutate((b) => (b[8] = 64)),
    false,
    'multicast TTL is covered',
  );
  assert.equal(
    mutate((b) => (b[5] ^= 1)),
    false,
    'IP id',
  );
  assert.equal(
    mutate((b) => (b[15] ^= 1)),
    false,
    'source address',
  );
  assert.equal(
    mutate((b) => (b[31] ^= 1)),
    false,
    'AH sequence number',
  );
  assert.equal(
    mutate((b) => (b[46] ^= 1)),
    false,
    'VRRP priority',
  );
  const uni = fixture(UNICAST);
  uni[8] = 7;
  assert.equal(openAhDatagram(uni, 'longpassword', true).ok, true, 'unicast: TTL not covered');
  assert.equal(openAhDatagram(uni, 'longpassword', false).ok, false, 'a multicast receiver covers the TTL');
});

test('an SPI that is not the source address is rejected even with a valid ICV; a non-VRRP AH payload is not ours', () => {
  // a sender with the key but another SPI: the ICV is recomputed over the forged SPI (zeroed fields as keepalived)
  const forged = Buffer.from(fixture(MCAST));
  forged.writeUInt32BE(0x0a4d0009, IPV4_HEADER_LEN + 4);
  const covered = Buffer.from(forged);
  covered[1] = 0;
  covered.writeUInt16BE(0, 6);
  covered.writeUInt16BE(0, 10);
  covered.fill(0, IPV4_HEADER_LEN + 12, IPV4_HEADER_LEN + 24);
  const key = Buffer.alloc(8);
  key.write('s3cret');
  createHmac('md5', key)
    .update(covered)
    .digest()
    .copy(forged, IPV4_HEADER_LEN + 12, 0, 12);
  const r = openAhDatagram(forged, 's3cret', false);
  assert.ok(!r.ok);
  assert.equal(r.reason, 'spi-mismatch');
  const notVrrp = Buffer.from(fixture(MCAST));
  notVrrp[IPV4_HEADER_LEN] = 6;
  const n = openAhDatagram(notVrrp, 's3cret', false);
  assert.ok(!n.ok);
  assert.equal(n.reason, 'not-vrrp');
  const short = openAhDatagram(fixture(MCAST).subarray(0, 30), 's3cret', false);
  assert.ok(!short.ok);
  assert.equal(short.reason, 'malformed');
});

test('building: encodeAdvert (AH) + buildAhDatagram reproduce keepalived datagrams byte for byte', () => {
  const v = (vrid: number, priority: number, addresses: string[]) =>
    encodeAdvert({ version: 2, vrid, priority, family: 4, addresses, advertIntMs: 1000, ah: true }, '10.77.0.1', '224.0.0.18');
  assert.deepEqual(
    buildAhDatagram({ src: '10.77.0.1', dst: '224.0.0.18', ipId: 1, seq: 1, vrrp: v(42, 150, ['10.77.0.100', '10.77.0.101']), pass: 's3cret', unicast: false }),
    fixture(MCAST),
  );
  assert.deepEqual(
    buildAhDatagram({ src: '10.77.0.1', dst: '224.0.0.18', ipId: 7, seq: 7, vrrp: v(42, 0, ['10.77.0.100', '10.77.0.101']), pass: 's3cret', unicast: false }),
    fixture(PRIO0),
  );
  assert.deepEqual(
    buildAhDatagram({ src: '10.77.0.1', dst: '10.77.0.2', ipId: 1, seq: 1, vrrp: v(43, 120, ['10.77.0.110']), pass: 'longpassword', unicast: true }),
    fixture(UNICAST),
  );
});

test('AhCounter: sequence and IP id start at 1; replay check is strictly increasing; sync and cycle as keepalived', () => {
  const c = new AhCounter();
  assert.equal(c.nextSeq(), 1);
  assert.equal(c.nextSeq(), 2);
  assert.equal(c.nextIpId(), 1);
  assert.equal(c.accept(2), false, 'equal to the counter: replay');
  assert.equal(c.accept(1), false);
  assert.equal(c.accept(10), true);
  assert.equal(c.nextSeq(), 11, 'a BACKUP that takes over goes on from the last number heard');
  c.syncFromLowerPriority(40);
  assert.equal(c.nextSeq(), 42);
  c.seq = 0xfffffffe;
  assert.equal(c.nextSeq(), 0xfffffffe);
  assert.equal(c.cycled, true);
  c.onBecomeMaster();
  assert.equal(c.nextSeq(), 1);
  const ids = new AhCounter();
  for (let i = 0; i < 65535; i++) ids.nextIpId();
  assert.equal(ids.nextIpId(), 1, 'the IP id skips 0');
});

test('checkAdvert with AH: auth type 2 required, then the AH verdict (auth failure / replay) before the interval', () => {
  const exp: ReceiveExpectations = {
    version: 2,
    vrid: 42,
    advertIntMs: 1000,
    ah: true,
    addresses: ['10.77.0.100', '10.77.0.101'],
    skipCheckAdvAddr: false,
    unicastPeers: [],
    checkUnicastSrc: false,
  };
  const d = fixture(MCAST);
  const payload = d.subarray(IPV4_HEADER_LEN + AH_HEADER_LEN);
  const pkt = { payload, src: '10.77.0.1', dst: '224.0.0.18', ttl: 255, family: 4 as const };
  const counter = new AhCounter();
  const auth = (pass: string) => () => {
    const r = openAhDatagram(d, pass, false);
    if (!r.ok) return { reason: 'auth-failure' as const, detail: r.detail };
    return counter.accept(r.seq) ? undefined : { reason: 'ah-sequence' as const, detail: `seq ${r.seq}` };
  };
  const bad = checkAdvert({ ...pkt, authenticate: auth('wrong') }, exp);
  assert.ok(!bad.ok && bad.reason === 'auth-failure');
  assert.ok(checkAdvert({ ...pkt, authenticate: auth('s3cret') }, exp).ok);
  const replay = checkAdvert({ ...pkt, authenticate: auth('s3cret') }, exp);
  assert.ok(!replay.ok && replay.reason === 'ah-sequence');
  const noAh = checkAdvert(pkt, exp);
  assert.ok(!noAh.ok && noAh.reason === 'auth-failure');
  const pass = checkAdvert({ ...pkt, authenticate: auth('s3cret') }, { ...exp, ah: false, authPass: 's3cret' });
  assert.ok(!pass.ok && pass.reason === 'auth-type-mismatch');
});
