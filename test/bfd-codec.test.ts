// The BFD Control packet codec (RFC 5880 4.1) and its reception checks (6.8.6), and the GTSM test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type BfdControl, decodeControl, encodeControl, ttlAcceptable } from '../src/bfd/packet.js';

const base: BfdControl = {
  version: 1,
  diag: 0,
  state: 'Up',
  poll: true,
  final: false,
  cpi: false,
  auth: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscr: 0x11223344,
  yourDiscr: 0x55667788,
  desiredMinTx: 100_000,
  requiredMinRx: 200_000,
  requiredMinEchoRx: 0,
};

test('encodes the mandatory section bit for bit (RFC 5880 4.1)', () => {
  const b = encodeControl(base);
  assert.equal(b.toString('hex'), ['20', 'e0', '03', '18', '11223344', '55667788', '000186a0', '00030d40', '00000000'].join(''));
  const down = encodeControl({ ...base, state: 'Down', poll: false, final: true, diag: 1, yourDiscr: 0 });
  assert.equal(down[0], 0x21); // version 1, diag 1
  assert.equal(down[1], 0x50); // state Down (1 << 6) | Final
});

test('decode(encode(p)) is p for every valid packet', () => {
  const arb = fc.record({
    diag: fc.integer({ min: 0, max: 8 }),
    state: fc.constantFrom('AdminDown', 'Down', 'Init', 'Up' as const),
    pf: fc.constantFrom('none', 'poll', 'final'),
    cpi: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRx: fc.integer({ min: 0, max: 0xffffffff }),
  });
  fc.assert(
    fc.property(arb, (a) => {
      const p: BfdControl = {
        version: 1,
        diag: a.diag,
        state: a.state,
        poll: a.pf === 'poll',
        final: a.pf === 'final',
        cpi: a.cpi,
        auth: false,
        demand: a.demand,
        multipoint: false,
        detectMult: a.detectMult,
        myDiscr: a.myDiscr,
        yourDiscr: a.yourDiscr,
        desiredMinTx: a.desiredMinTx,
        requiredMinRx: a.requiredMinRx,
        requiredMinEchoRx: a.requiredMinEchoRx,
      };
      const d = decodeControl(encodeControl(p));
      assert.ok(d.ok);
      assert.deepEqual(d.packet, p);
    }),
    { numRuns: 300 },
  );
});

test('reception checks of RFC 5880 6.8.6 (and keepalived’s two more): each reason', () => {
  const ok = encodeControl(base);
  const mut = (f: (b: Buffer) => void) => {
    const b = Buffer.from(ok);
    f(b);
    return decodeControl(b);
  };
  const err = (r: ReturnType<typeof decodeControl>) => (r.ok ? 'ok' : r.error);
  assert.equal(err(decodeControl(ok)), 'ok');
  assert.equal(err(decodeControl(ok.subarray(0, 23))), 'too-short');
  assert.equal(
    err(
      mut((b) => {
        b[0] = (2 << 5) | 0;
      }),
    ),
    'bad-version',
  );
  assert.equal(
    err(
      mut((b) => {
        b[3] = 23;
      }),
    ),
    'bad-length',
  );
  assert.equal(
    err(
      mut((b) => {
        b[3] = 25; // more than the datagram
      }),
    ),
    'bad-length',
  );
  assert.equal(err(decodeControl(Buffer.concat([ok, Buffer.alloc(4)]))), 'ok', 'a datagram longer than Length is fine');
  assert.equal(
    err(
      mut((b) => {
        b[2] = 0;
      }),
    ),
    'zero-multiplier',
  );
  assert.equal(
    err(
      mut((b) => {
        b[1] |= 0x01;
      }),
    ),
    'multipoint',
  );
  assert.equal(
    err(
      mut((b) => {
        b.writeUInt32BE(0, 4);
      }),
    ),
    'zero-my-discriminator',
  );
  assert.equal(
    err(
      mut((b) => {
        b.writeUInt32BE(0, 8); // Up with Your Discriminator 0
      }),
    ),
    'zero-your-discriminator',
  );
  assert.equal(err(decodeControl(encodeControl({ ...base, state: 'Down', yourDiscr: 0 }))), 'ok', 'Down may carry Your Discriminator 0');
  assert.equal(err(decodeControl(encodeControl({ ...base, state: 'AdminDown', yourDiscr: 0 }))), 'ok');
  assert.equal(err(decodeControl(encodeControl({ ...base, final: true }))), 'poll-and-final');
  assert.equal(err(decodeControl(encodeControl({ ...base, diag: 9 }))), 'bad-diag');
  const withAuth = Buffer.concat([ok, Buffer.alloc(4)]);
  withAuth[1] |= 0x04;
  withAuth[3] = 28;
  assert.equal(err(decodeControl(withAuth)), 'auth-not-configured');
  withAuth[3] = 25;
  assert.equal(err(decodeControl(withAuth)), 'bad-length', 'with A the section is at least 26 bytes');
});

test('decodeControl never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
      const r = decodeControl(Buffer.from(a));
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 1000 },
  );
});

test('GTSM (RFC 5881 5) with keepalived’s max_hops', () => {
  assert.equal(ttlAcceptable(255, 255, 0), true);
  assert.equal(ttlAcceptable(254, 255, 0), false);
  assert.equal(ttlAcceptable(254, 255, 1), true);
  assert.equal(ttlAcceptable(253, 255, 1), false);
  assert.equal(ttlAcceptable(1, 255, -1), true, 'max_hops -1: no check');
  assert.equal(ttlAcceptable(1, 255, 255), true, 'max_hops 255: no check');
  assert.equal(ttlAcceptable(64, 64, 0), true, 'IPv6 default hop limit 64');
  assert.equal(ttlAcceptable(63, 64, 0), false);
  assert.equal(ttlAcceptable(undefined, 255, 0), true, 'no TTL reported: accepted (as keepalived)');
});
