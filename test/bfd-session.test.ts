// The BFD session state machine and the engine's dispatch on a FakeClock, two peers wired through
// an in-memory link: the three-way handshake, intervals and jitter, detection time, Poll / Final,
// passive role, idle rate, AdminDown, discriminator / address lookup, GTSM drops, reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { BfdEngine, type BfdIo, type BfdRxDatagram } from '../src/bfd/engine.js';
import { type BfdControl, decodeControl } from '../src/bfd/packet.js';
import { BfdSession, type SessionChange, type SessionParams } from '../src/bfd/session.js';
import type { BfdInstance, KeepalivedConfig } from '../src/config/model.js';
import type { EngineEvent } from '../src/engine-api/types.js';
import { FakeClock } from '../src/util/clock.js';
import { makeConfig } from './daemon-support.js';

const LATENCY = 1; // ms on the in-memory link

interface Side {
  s: BfdSession;
  sent: { at: number; p: BfdControl }[];
  changes: SessionChange[];
}

/** Two sessions; `link.up` false drops everything (a stalled peer). */
function pair(a: Partial<SessionParams> = {}, b: Partial<SessionParams> = {}, random = () => 0.5) {
  const clock = new FakeClock();
  const link = { aToB: true, bToA: true };
  const params = (over: Partial<SessionParams>, name: string): SessionParams => ({
    name,
    minTxUs: 100_000,
    minRxUs: 100_000,
    idleTxUs: 1_000_000,
    multiplier: 3,
    passive: false,
    ...over,
  });
  const sides: Side[] = [];
  const mk = (over: Partial<SessionParams>, name: string, discr: number, peer: () => Side, pass: () => boolean): Side => {
    const side: Side = { sent: [], changes: [] } as unknown as Side;
    side.s = new BfdSession(
      params(over, name),
      discr,
      clock,
      {
        send: (buf) => {
          const d = decodeControl(buf);
          assert.ok(d.ok, 'every packet sent passes the reception checks');
          side.sent.push({ at: clock.now(), p: d.packet });
          if (pass()) clock.setTimeout(() => peer().s.receive(d.packet), LATENCY);
          return true;
        },
        onChange: (c) => side.changes.push(c),
      },
      random,
    );
    return side;
  };
  sides.push(
    mk(
      a,
      'A',
      0xa1,
      () => sides[1],
      () => link.aToB,
    ),
  );
  sides.push(
    mk(
      b,
      'B',
      0xb2,
      () => sides[0],
      () => link.bToA,
    ),
  );
  return { clock, link, A: sides[0], B: sides[1] };
}

test('three-way handshake: both Up, one change event each, discriminators learned', () => {
  const { clock, A, B } = pair();
  A.s.start();
  B.s.start();
  clock.advance(3000);
  assert.equal(A.s.state, 'Up');
  assert.equal(B.s.state, 'Up');
  assert.deepEqual(
    A.changes.map((c) => c.up),
    [true],
  );
  assert.deepEqual(
    B.changes.map((c) => c.up),
    [true],
  );
  assert.equal(A.s.remoteDiscr, 0xb2);
  assert.equal(B.s.remoteDiscr, 0xa1);
  // the first packets: Down with Your Discriminator 0, then Init, then Up
  assert.equal(A.sent[0].p.state, 'Down');
  assert.equal(A.sent[0].p.yourDiscr, 0);
  assert.ok(A.sent.some((x) => x.p.state === 'Init') || B.sent.some((x) => x.p.state === 'Init'));
});

test('Up: a Poll Sequence announces min_tx; the fast rate follows, jittered to 75-100 % of the interval', () => {
  const { clock, A, B } = pair({}, {}, Math.random);
  A.s.start();
  B.s.start();
  clock.advance(3000);
  const polls = A.sent.filter((x) => x.p.poll);
  const finals = B.sent.filter((x) => x.p.final);
  assert.ok(polls.length >= 1 || A.sent.some((x) => x.p.final), 'A polled (or carried its parameters in a Final)');
  assert.ok(finals.length >= 1 || B.sent.some((x) => x.p.poll), 'B answered with a Final');
  const from = clock.now();
  clock.advance(5000);
  const fast = A.sent.filter((x) => x.at > from && !x.p.final);
  for (let i = 1; i < fast.length; i++) {
    const gap = fast[i].at - fast[i - 1].at;
    assert.ok(gap >= 75 - 1e-9 && gap <= 100 + 1e-9, `gap ${gap} ms`);
  }
  assert.ok(fast.length >= 50 && fast.length <= 67, `${fast.length} packets in 5 s`);
  assert.equal(A.s.detectUs, 300_000, 'detection time = remote multiplier x agreed interval');
  assert.ok(fast.every((x) => x.p.desiredMinTx === 100_000 && x.p.state === 'Up'));
});

test('with a multiplier of 1 the interval is 75-90 % (RFC 5880 6.8.7)', () => {
  for (const r of [0, 0.5, 0.999]) {
    const { clock, link, A } = pair({ multiplier: 1 }, {}, () => r);
    link.aToB = false; // no peer: the idle rate
    A.s.start();
    clock.advance(10_000);
    const gaps = A.sent.slice(1).map((x, i) => x.at - A.sent[i].at);
    for (const g of gaps) assert.ok(g >= 750 - 1e-6 && g <= 900 + 1e-6, `idle gap ${g}`);
  }
});

test('a stalled peer is detected after exactly the detection time since its last packet', () => {
  const { clock, link, A, B } = pair();
  A.s.start();
  B.s.start();
  clock.advance(3000);
  link.bToA = false;
  const lastFromB = B.sent.at(-1)!.at + LATENCY;
  clock.advance(1000);
  assert.equal(A.s.state, 'Down');
  const down = A.changes.at(-1)!;
  assert.equal(down.up, false);
  assert.equal(down.diag, 1, 'Control Detection Time Expired');
  assert.equal(down.silentMs, 300);
  assert.equal(down.detectMs, 300);
  const expiredAt = lastFromB + 300;
  // A tells B (diag 1, state Down): B goes Down too, as Neighbor Signaled Session Down
  assert.equal(B.s.state, 'Down');
  assert.equal(B.changes.at(-1)!.diag, 3);
  // A is back at the idle rate (at least 1 s between packets) while Down
  const after = A.sent.filter((x) => x.at > expiredAt + 200);
  for (let i = 1; i < after.length; i++) assert.ok(after[i].at - after[i - 1].at >= 750 - 1e-9);
  link.bToA = true;
  clock.advance(4000);
  assert.equal(A.s.state, 'Up');
  assert.equal(B.s.state, 'Up');
});

test('passive: silent until the peer is heard, then answers; Down again stops it', () => {
  const { clock, link, A, B } = pair({ passive: true });
  A.s.start();
  clock.advance(5000);
  assert.equal(A.sent.length, 0, 'a passive session sends nothing on its own');
  B.s.start();
  clock.advance(3000);
  assert.equal(A.s.state, 'Up');
  assert.equal(B.s.state, 'Up');
  link.bToA = false;
  clock.advance(2000);
  assert.equal(A.s.state, 'Down');
  const n = A.sent.length;
  clock.advance(5000);
  assert.equal(A.sent.length, n, 'passive and Down with the peer silent: nothing sent');
});

test('AdminDown from the peer: Down with diag 3, no down event (as keepalived)', () => {
  const { clock, A, B } = pair();
  A.s.start();
  B.s.start();
  clock.advance(3000);
  B.s.stop(true);
  clock.advance(10);
  assert.equal(A.s.state, 'Down');
  assert.equal(A.s.localDiag, 3);
  assert.deepEqual(
    A.changes.map((c) => c.up),
    [true],
    'no down event for an administrative shutdown',
  );
  assert.equal(B.sent.at(-1)!.p.state, 'AdminDown');
  assert.equal(B.sent.at(-1)!.p.diag, 7);
});

test('a Poll is answered at once with a Final', () => {
  const { clock, A, B } = pair();
  B.s.start();
  clock.advance(1);
  const poll: BfdControl = { ...B.s.buildPacket(), poll: true, myDiscr: 0x99, yourDiscr: 0 };
  const before = B.sent.length;
  A.s.receive(poll);
  assert.equal(A.sent.length, 1, 'sent outside the schedule');
  assert.equal(A.sent[0].p.final, true);
  assert.equal(A.sent[0].p.poll, false);
  assert.equal(A.sent[0].p.yourDiscr, 0x99);
  assert.ok(B.sent.length >= before);
});

// ------------------------------------------------------------------ the engine

function def(name: string, over: Partial<BfdInstance> = {}): BfdInstance {
  return { name, minRx: 100, minTx: 100, idleTx: 1000, multiplier: 3, passive: false, loc: { file: 't', line: 1 }, ...over } as BfdInstance;
}

function cfg(defs: BfdInstance[]): KeepalivedConfig {
  return { ...makeConfig(), bfdInstances: defs };
}

/** An in-memory network: each engine has an address; senders deliver to the engine owning the neighbour address. */
function net(clock: FakeClock) {
  const engines = new Map<string, BfdEngine>();
  const ttls = new Map<string, number>();
  const sentFrom: string[] = [];
  const io = (self: string): BfdIo => ({
    listen: () => ({ close: () => {} }),
    openSender: (o) => ({
      localPort: 49152,
      send: (data) => {
        sentFrom.push(self);
        const to = engines.get(o.neighbor);
        const dgram: BfdRxDatagram = { data, family: o.family, src: o.source ?? self, srcPort: 49152, ttl: ttls.get(self) ?? o.ttl, truncated: false };
        if (to) clock.setTimeout(() => to.onDatagram(dgram), LATENCY);
      },
      close: () => {},
    }),
  });
  const silent = { level: 'silent' } as const;
  const add = (addr: string) => {
    const events: EngineEvent[] = [];
    const e = new BfdEngine({ io: io(addr), logger: pino(silent), clock, random: Math.random });
    e.on((ev) => events.push(ev));
    engines.set(addr, e);
    return { e, events };
  };
  return { add, ttls, sentFrom };
}

test('engine: two engines bring their session Up, events name the bfd_instance', async () => {
  const clock = new FakeClock();
  const n = net(clock);
  const a = n.add('10.0.0.1');
  const b = n.add('10.0.0.2');
  await a.e.start(cfg([def('to-b', { neighborIp: '10.0.0.2' })]));
  await b.e.start(cfg([def('to-a', { neighborIp: '10.0.0.1' })]));
  clock.advance(4000);
  assert.ok(a.e.isUp('to-b'));
  assert.ok(b.e.isUp('to-a'));
  assert.deepEqual(
    a.events.map((e) => e.kind === 'bfd-session' && [e.name, e.up]),
    [['to-b', true]],
  );
  const snap = a.e.snapshot() as { state: string; neighbor: string; ttl: number }[];
  assert.equal(snap[0].state, 'Up');
  assert.equal(snap[0].ttl, 255);
  assert.match(a.e.dumpData(), /BFD Instance = to-b/);
  assert.ok(a.e.metrics().some((m) => m.name === 'tskeepalived_bfd_up' && m.value === 1));
});

test('engine: packets below the GTSM TTL are dropped and counted; max_hops lets them in', async () => {
  const clock = new FakeClock();
  const n = net(clock);
  n.ttls.set('10.0.0.2', 254); // b's packets arrive one hop away
  const a = n.add('10.0.0.1');
  const b = n.add('10.0.0.2');
  await a.e.start(cfg([def('to-b', { neighborIp: '10.0.0.2' })]));
  await b.e.start(cfg([def('to-a', { neighborIp: '10.0.0.1' })]));
  clock.advance(4000);
  assert.equal(a.e.isUp('to-b'), false);
  assert.ok((a.e.drops.ttl ?? 0) > 0);
  await a.e.reload(cfg([def('to-b', { neighborIp: '10.0.0.2', maxHops: 1 })]));
  clock.advance(4000);
  assert.ok(a.e.isUp('to-b'), 'max_hops 1 accepts TTL 254');
});

test('engine: reload keeps an unchanged session Up (also when only its weight changed), restarts a changed one', async () => {
  const clock = new FakeClock();
  const n = net(clock);
  const a = n.add('10.0.0.1');
  const b = n.add('10.0.0.2');
  await a.e.start(cfg([def('to-b', { neighborIp: '10.0.0.2' })]));
  await b.e.start(cfg([def('to-a', { neighborIp: '10.0.0.1' })]));
  clock.advance(4000);
  await a.e.reload(cfg([def('to-b', { neighborIp: '10.0.0.2', weight: 10, loc: { file: 'x', line: 9 } })]));
  clock.advance(100);
  assert.ok(a.e.isUp('to-b'));
  assert.equal(a.events.length, 1, 'no transition');
  await a.e.reload(cfg([def('to-b', { neighborIp: '10.0.0.2', multiplier: 5 })]));
  assert.equal(a.e.isUp('to-b'), false, 'restarted');
  assert.deepEqual(
    a.events.map((e) => e.kind === 'bfd-session' && e.up),
    [true, false],
  );
  clock.advance(4000);
  assert.ok(a.e.isUp('to-b'));
  await a.e.reload(cfg([]));
  assert.equal((a.e.snapshot() as unknown[]).length, 0);
  await a.e.stop();
});

test('engine: a packet for an unknown discriminator or address is dropped', async () => {
  const clock = new FakeClock();
  const n = net(clock);
  const a = n.add('10.0.0.1');
  await a.e.start(cfg([def('to-b', { neighborIp: '10.0.0.2' })]));
  const pkt = (over: Partial<BfdControl>) =>
    Buffer.from(
      [0x20, 0x40, 3, 24, 0, 0, 0, 7, ...[0, 0, 0, 0], ...[0, 1, 0x86, 0xa0], ...[0, 1, 0x86, 0xa0], 0, 0, 0, 0].map((x, i) =>
        i === 11 && over.yourDiscr ? over.yourDiscr : x,
      ),
    );
  a.e.onDatagram({ data: pkt({}), family: 4, src: '10.0.0.9', srcPort: 49999, ttl: 255, truncated: false });
  a.e.onDatagram({ data: pkt({ yourDiscr: 5 }), family: 4, src: '10.0.0.2', srcPort: 49999, ttl: 255, truncated: false });
  assert.equal(a.e.drops['no-session'], 2);
  a.e.onDatagram({ data: pkt({}), family: 4, src: '10.0.0.2', srcPort: 49999, ttl: 255, truncated: false });
  assert.equal((a.e.snapshot() as { state: string }[])[0].state, 'Init', 'Your Discriminator 0 from the neighbour: matched by address');
  await a.e.stop();
});

test('engine: keepalived’s `vrrp` / `checker` keywords name the engines that hear the session', async () => {
  const clock = new FakeClock();
  const n = net(clock);
  const a = n.add('10.0.0.1');
  const b = n.add('10.0.0.2');
  const loc = { file: 't', line: 2 };
  await a.e.start(cfg([def('to-b', { neighborIp: '10.0.0.2', raw: [{ keyword: 'checker', args: [], loc }] })]));
  await b.e.start(cfg([def('to-a', { neighborIp: '10.0.0.1' })]));
  clock.advance(4000);
  const ev = a.events[0];
  assert.ok(ev.kind === 'bfd-session' && ev.up);
  assert.deepEqual(ev.kind === 'bfd-session' && ev.only, ['checkers']);
  const evB = b.events[0];
  assert.equal(evB.kind === 'bfd-session' && evB.only, undefined, 'no keyword: every engine');
  await a.e.stop();
  await b.e.stop();
});
