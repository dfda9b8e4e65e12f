// The GARP / unsolicited NA schedule on the fake clock: how many go out, when, and that nothing
// does once the instance left MASTER. (On the wire against keepalived: vrrp-garp-refresh,
// vrrp-garp-lower-prio, vrrp-features.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { VirtualAddress } from '../src/config/model.js';
import { FakeClock, realClock, type Clock } from '../src/util/clock.js';
import { GarpSchedule, type GarpSettings } from '../src/vrrp/garp-schedule.js';

const log = pino({ level: 'silent' });

function vip(address: string, dev?: string): VirtualAddress {
  const family = address.includes(':') ? 6 : 4;
  return { prefix: { address, prefixLen: family === 4 ? 32 : 128, family }, ...(dev ? { dev } : {}) } as VirtualAddress;
}

function setup(over: Partial<GarpSettings> = {}, addresses = [vip('10.0.0.100'), vip('10.0.0.101')], clock: Clock = new FakeClock(), logger = log) {
  const settings: GarpSettings = {
    garpMasterRepeat: 5,
    garpMasterDelay: 5000,
    garpMasterRefresh: 0,
    garpMasterRefreshRepeat: 1,
    garpIntervalMs: 0,
    gnaIntervalMs: 0,
    advertInt: 1000,
    ...over,
  };
  const sent: { at: number; kind: 'arp' | 'na'; dev: string; address: string }[] = [];
  const state = { master: true };
  const io = {
    sendGratuitousArp: (dev: string, address: string) => void sent.push({ at: clock.now(), kind: 'arp', dev, address }),
    sendUnsolicitedNa: (dev: string, address: string) => void sent.push({ at: clock.now(), kind: 'na', dev, address }),
  };
  const schedule = new GarpSchedule(
    clock,
    io,
    {
      settings: () => settings,
      addresses: () => addresses,
      devFor: (v) => v.dev ?? 'eth0',
      isMaster: () => state.master,
      logInterface: () => 'eth0',
    },
    logger,
  );
  const at = () => sent.map((s) => s.at);
  return { clock: clock as FakeClock, schedule, sent, state, at };
}

test('new MASTER: garp_master_repeat rounds for every address, after the current turn, then again after garp_master_delay', () => {
  const { clock, schedule, sent, at } = setup({ garpMasterRepeat: 3, garpMasterDelay: 5000 });
  schedule.startMaster();
  assert.equal(sent.length, 0, 'nothing inside startMaster(): the addresses are being added');
  clock.advance(0);
  assert.equal(sent.length, 6, '3 rounds x 2 addresses');
  assert.deepEqual(
    sent.slice(0, 2).map((s) => s.address),
    ['10.0.0.100', '10.0.0.101'],
    'round by round',
  );
  clock.advance(4999);
  assert.equal(sent.length, 6, 'the second burst waits for garp_master_delay');
  clock.advance(1);
  assert.equal(sent.length, 12);
  assert.deepEqual(at().slice(6), Array(6).fill(5000));
  clock.advance(600_000);
  assert.equal(sent.length, 12, 'no refresh without garp_master_refresh');
  assert.equal(schedule.pending, 0);
});

test('garp_master_delay 0: one burst only; garp_master_repeat 0 still sends one round', () => {
  const { clock, schedule, sent } = setup({ garpMasterRepeat: 0, garpMasterDelay: 0 });
  schedule.startMaster();
  clock.advance(60_000);
  assert.equal(sent.length, 2);
});

test('vrrp_garp_interval spaces the GARPs of a burst, vrrp_gna_interval the NAs, each from the start of the burst', () => {
  const { clock, schedule, sent } = setup({ garpMasterRepeat: 2, garpMasterDelay: 0, garpIntervalMs: 10, gnaIntervalMs: 25 }, [
    vip('10.0.0.100'),
    vip('10.0.0.101'),
    vip('2001:db8::100', 'eth1'),
  ]);
  schedule.startMaster();
  clock.advance(1000);
  const arp = sent.filter((s) => s.kind === 'arp');
  const na = sent.filter((s) => s.kind === 'na');
  assert.deepEqual(
    arp.map((s) => s.at),
    [0, 10, 20, 30],
  );
  assert.deepEqual(
    arp.map((s) => s.address),
    ['10.0.0.100', '10.0.0.101', '10.0.0.100', '10.0.0.101'],
  );
  assert.deepEqual(
    na.map((s) => s.at),
    [0, 25],
  );
  assert.deepEqual(
    na.map((s) => s.dev),
    ['eth1', 'eth1'],
    'from the address own interface',
  );
});

test('garp_master_refresh: garp_master_refresh_repeat rounds every period while MASTER', () => {
  const { clock, schedule, sent, state, at } = setup({ garpMasterRepeat: 1, garpMasterDelay: 0, garpMasterRefresh: 30_000, garpMasterRefreshRepeat: 2 });
  schedule.startMaster();
  clock.advance(0);
  assert.equal(sent.length, 2);
  clock.advance(29_999);
  assert.equal(sent.length, 2);
  clock.advance(1);
  assert.equal(sent.length, 6, '2 rounds x 2 addresses at 30 s');
  clock.advance(30_000);
  assert.equal(sent.length, 10);
  assert.deepEqual(at().slice(2), [...Array(4).fill(30_000), ...Array(4).fill(60_000)]);
  // no longer MASTER (and not cancelled): the refresh sends nothing and stops re-arming itself
  state.master = false;
  clock.advance(90_000);
  assert.equal(sent.length, 10);
  assert.equal(schedule.pending, 0);
});

test('leaving MASTER cancels everything scheduled: the queued round, the spaced GARPs, the second burst and the refresh', () => {
  const { clock, schedule, sent, state } = setup({ garpMasterRepeat: 3, garpMasterDelay: 5000, garpMasterRefresh: 10_000, garpIntervalMs: 100 });
  schedule.startMaster();
  clock.advance(150);
  assert.deepEqual(
    sent.map((s) => s.at),
    [0, 100],
    'two of the six spaced GARPs sent',
  );
  assert.ok(schedule.pending > 0);
  state.master = false;
  schedule.cancel();
  assert.equal(schedule.pending, 0);
  clock.advance(100_000);
  assert.equal(sent.length, 2);
});

test('GARPs still queued when the instance leaves MASTER are not sent, even before cancel()', () => {
  const { clock, schedule, sent, state } = setup({ garpMasterRepeat: 2, garpMasterDelay: 1000 });
  schedule.startMaster();
  state.master = false;
  clock.advance(10_000);
  assert.equal(sent.length, 0);
});

test('a new startMaster() replaces the previous schedule instead of adding to it', () => {
  const { clock, schedule, sent } = setup({ garpMasterRepeat: 1, garpMasterDelay: 5000 });
  schedule.startMaster();
  clock.advance(1000);
  schedule.startMaster();
  clock.advance(10_000);
  assert.deepEqual(
    sent.map((s) => s.at),
    [0, 0, 1000, 1000, 6000, 6000],
    'no second burst at 5000 from the first schedule',
  );
});

test('lower-priority advert: garp_lower_prio_repeat rounds at once and again after garp_lower_prio_delay', () => {
  const { clock, schedule, sent, at } = setup({ garpMasterRepeat: 5, garpMasterDelay: 5000, garpLowerPrioRepeat: 2, garpLowerPrioDelay: 1500 });
  schedule.afterLowerPriorityAdvert();
  clock.advance(0);
  assert.equal(sent.length, 4, '2 rounds x 2 addresses');
  clock.advance(1499);
  assert.equal(sent.length, 4);
  clock.advance(1);
  assert.equal(sent.length, 8);
  assert.deepEqual(at(), [0, 0, 0, 0, 1500, 1500, 1500, 1500]);
  clock.advance(60_000);
  assert.equal(sent.length, 8);
});

test('lower-priority advert: garp_lower_prio_* default to garp_master_*; a repeat of 0 sends nothing', () => {
  const a = setup({ garpMasterRepeat: 1, garpMasterDelay: 2000 });
  a.schedule.afterLowerPriorityAdvert();
  a.clock.advance(10_000);
  assert.deepEqual(a.at(), [0, 0, 2000, 2000]);
  const b = setup({ garpLowerPrioRepeat: 0, garpLowerPrioDelay: 1000 });
  b.schedule.afterLowerPriorityAdvert();
  b.clock.advance(10_000);
  assert.equal(b.sent.length, 0);
  assert.equal(b.schedule.pending, 0);
});

test('lower-priority adverts faster than one per advert interval share one burst, and one log line a minute says how many', () => {
  const lines: string[] = [];
  const clock = new FakeClock();
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
  const { schedule, sent } = setup({ garpMasterRepeat: 1, garpMasterDelay: 0, advertInt: 1000 }, [vip('10.0.0.100')], clock, logger);
  // a flood: 20 lower-priority adverts every 100 ms for 10 s
  for (let i = 0; i < 100; i++) {
    for (let k = 0; k < 20; k++) schedule.afterLowerPriorityAdvert();
    clock.advance(100);
  }
  assert.equal(sent.length, 10, 'one burst (1 round x 1 address) per advert interval, not 2,000');
  assert.equal(lines.length, 1, 'one log line for the first burst; the next comes after a minute');
  clock.advance(60_000);
  schedule.afterLowerPriorityAdvert();
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /10 burst\(s\), 1990 advert\(s\) within an interval/);
});

test('burst() for the given addresses only (a reload added them)', () => {
  const { clock, schedule, sent } = setup();
  schedule.burst(3, [vip('10.0.0.102')]);
  clock.advance(0);
  assert.deepEqual(
    sent.map((s) => s.address),
    ['10.0.0.102', '10.0.0.102', '10.0.0.102'],
  );
});

test('a send that throws is logged and the rest of the burst still goes out', () => {
  const clock = new FakeClock();
  let calls = 0;
  const schedule = new GarpSchedule(
    clock,
    {
      sendGratuitousArp: () => {
        calls++;
        if (calls === 1) throw new Error('ENETDOWN');
      },
      sendUnsolicitedNa: () => undefined,
    },
    {
      settings: () => ({
        garpMasterRepeat: 2,
        garpMasterDelay: 0,
        garpMasterRefresh: 0,
        garpMasterRefreshRepeat: 1,
        garpIntervalMs: 0,
        gnaIntervalMs: 0,
        advertInt: 1000,
      }),
      addresses: () => [vip('10.0.0.100')],
      devFor: () => 'eth0',
      isMaster: () => true,
      logInterface: () => 'eth0',
    },
    log,
  );
  schedule.startMaster();
  clock.advance(0);
  assert.equal(calls, 2);
});

test('real clock: back-to-back GARPs go out one per event-loop turn, so timers run between them', async () => {
  const n = 2000;
  const addresses = Array.from({ length: n }, (_, i) => vip(`10.0.${i >> 8}.${i & 255}`));
  let sent = 0;
  let timerRanAfter = -1;
  const schedule = new GarpSchedule(
    realClock,
    {
      sendGratuitousArp: () => {
        // the first GARP arms a timer: it must run before the last GARP, not after the whole burst
        if (sent++ === 0) setTimeout(() => (timerRanAfter = sent), 0);
      },
      sendUnsolicitedNa: () => undefined,
    },
    {
      settings: () => ({
        garpMasterRepeat: 1,
        garpMasterDelay: 0,
        garpMasterRefresh: 0,
        garpMasterRefreshRepeat: 1,
        garpIntervalMs: 0,
        gnaIntervalMs: 0,
        advertInt: 1000,
      }),
      addresses: () => addresses,
      devFor: () => 'eth0',
      isMaster: () => true,
      logInterface: () => 'eth0',
    },
    log,
  );
  schedule.startMaster();
  for (let i = 0; i < 500 && sent < n; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sent, n);
  assert.ok(timerRanAfter > 0 && timerRanAfter < n, `a 0 ms timer armed by the first GARP ran after ${timerRanAfter} of ${n}`);
});

test('the first burst waits for the addresses to be in place, at most 1 s; leaving MASTER meanwhile drops it', async () => {
  const flush = () => new Promise<void>((r) => setImmediate(r));
  {
    const { clock, schedule, sent } = setup({ garpMasterRepeat: 1, garpMasterDelay: 0 });
    let added!: () => void;
    schedule.startMaster(new Promise<void>((r) => (added = r)));
    clock.advance(500);
    await flush();
    assert.equal(sent.length, 0, 'no GARP while the addresses are being added');
    added();
    await flush();
    clock.advance(0);
    assert.deepEqual(
      sent.map((s) => [s.at, s.address]),
      [
        [500, '10.0.0.100'],
        [500, '10.0.0.101'],
      ],
      'sent once they are in place',
    );
  }
  {
    const { clock, schedule, sent } = setup({ garpMasterRepeat: 1, garpMasterDelay: 0 });
    schedule.startMaster(new Promise<void>(() => undefined)); // an installation that never ends
    clock.advance(999);
    await flush();
    assert.equal(sent.length, 0);
    clock.advance(1);
    await flush();
    clock.advance(0);
    assert.equal(sent.length, 2, 'a stuck installation does not silence the GARPs beyond 1 s');
  }
  {
    const { clock, schedule, sent } = setup({ garpMasterRepeat: 1, garpMasterDelay: 0 });
    let added!: () => void;
    schedule.startMaster(new Promise<void>((r) => (added = r)));
    schedule.cancel();
    added();
    await flush();
    clock.advance(2000);
    await flush();
    clock.advance(0);
    assert.equal(sent.length, 0, 'a burst still waiting when MASTER was left is dropped');
  }
});
