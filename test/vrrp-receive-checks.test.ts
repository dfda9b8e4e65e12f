import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from './vrrp-fixtures.js';
import { checkAdvert, ReceiveErrorCounters, type ReceiveExpectations } from '../src/vrrp/receive-checks.js';
import { encodeAdvert, parseIpPacket } from '../src/vrrp/packet.js';

function fixturePacket(name: string) {
  const r = parseIpPacket(fixture(name));
  assert.ok(r.ok);
  return r.ip;
}

const v2exp: ReceiveExpectations = {
  version: 2,
  vrid: 51,
  advertIntMs: 1000,
  authPass: 'secret123',
  addresses: ['10.201.0.100', '10.201.0.101'],
  skipCheckAdvAddr: false,
  unicastPeers: [],
  checkUnicastSrc: false,
};

test('accepts keepalived adverts that match the instance', () => {
  const ip = fixturePacket('core-v2-pass-vrid51.hex');
  const r = checkAdvert(ip, v2exp);
  assert.ok(r.ok);
  const ip3 = fixturePacket('core-v3-ipv6-vrid54.hex');
  const r3 = checkAdvert(ip3, { ...v2exp, version: 3, vrid: 54, authPass: undefined, addresses: ['fd21::100'] });
  assert.ok(r3.ok, JSON.stringify(r3));
});

test('each rejection has its named reason', () => {
  const ip = fixturePacket('core-v2-pass-vrid51.hex');
  const reason = (over: Partial<ReceiveExpectations>, pkt = ip) => {
    const r = checkAdvert(pkt, { ...v2exp, ...over });
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason({ vrid: 52 }), 'wrong-vrid');
  assert.equal((checkAdvert(ip, { ...v2exp, vrid: 52 }) as { silent?: boolean }).silent, true);
  assert.equal(reason({}, { ...ip, ttl: 254 }), 'ttl');
  assert.equal(reason({ version: 3 }), 'bad-version');
  assert.equal(reason({ authPass: 'other' }), 'auth-pass-mismatch');
  assert.equal(reason({ authPass: 'secret12' }), 'ok', 'keepalived compares only 8 bytes');
  assert.equal(reason({ authPass: undefined }), 'auth-type-mismatch');
  assert.equal(reason({ advertIntMs: 2000 }), 'interval-mismatch');
  assert.equal(reason({ addresses: ['10.201.0.100'] }), 'address-mismatch');
  assert.equal(reason({ addresses: ['10.201.0.100'], skipCheckAdvAddr: true }), 'ok');
  const bad = Buffer.from(ip.payload);
  bad[2] = 1;
  assert.equal(reason({}, { ...ip, payload: bad }), 'bad-checksum');
  const typ = Buffer.from(ip.payload);
  typ[0] = 0x22;
  assert.equal(reason({}, { ...ip, payload: typ }), 'bad-type');
  assert.equal(reason({}, { ...ip, payload: ip.payload.subarray(0, 5) }), 'too-short');
  assert.equal(reason({}, { ...ip, payload: ip.payload.subarray(0, 20) }), 'length-mismatch');
  assert.equal(reason({}, { ...ip, payload: Buffer.concat([ip.payload, Buffer.alloc(4)]) }), 'length-mismatch');
});

test('unicast: source must be a peer when checked, TTL bounds per peer', () => {
  const payload = encodeAdvert(
    { version: 2, vrid: 51, priority: 100, family: 4, addresses: v2exp.addresses, advertIntMs: 1000, authPass: 'secret123' },
    '10.1.0.1',
    '10.1.0.2',
  );
  const pkt = { payload, src: '10.1.0.1', dst: '10.1.0.2', ttl: 64, family: 4 as const };
  assert.ok(checkAdvert(pkt, { ...v2exp, unicastPeers: [{ address: '10.1.0.1' }] }).ok, 'unicast TTL need not be 255');
  const r = checkAdvert(pkt, { ...v2exp, unicastPeers: [{ address: '10.1.0.9' }], checkUnicastSrc: true });
  assert.ok(!r.ok && r.reason === 'unknown-unicast-peer');
  const t = checkAdvert(pkt, { ...v2exp, unicastPeers: [{ address: '10.1.0.1', minTtl: 250 }] });
  assert.ok(!t.ok && t.reason === 'ttl');
});

test('counters count every rejection and rate-limit logging per reason', () => {
  const c = new ReceiveErrorCounters(60_000);
  assert.equal(c.record('auth-pass-mismatch', 0), true);
  assert.equal(c.record('auth-pass-mismatch', 1000), false);
  assert.equal(c.record('ttl', 1000), true);
  assert.equal(c.record('auth-pass-mismatch', 61_000), true);
  assert.equal(c.get('auth-pass-mismatch'), 3);
  assert.equal(c.get('ttl'), 1);
});
