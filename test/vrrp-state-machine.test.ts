import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../src/util/clock.js';
import { VrrpStateMachine, type MachineAction, type MachineConfig } from '../src/vrrp/state-machine.js';

function setup(over: Partial<MachineConfig> = {}) {
  const clock = new FakeClock();
  const actions: { at: number; a: MachineAction }[] = [];
  const cfg: MachineConfig = {
    name: 'VI_1',
    version: 2,
    advertIntMs: 1000,
    priority: 100,
    primaryAddress: '10.0.0.2',
    nopreempt: false,
    preemptDelayMs: 0,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    ...over,
  };
  const m = new VrrpStateMachine(cfg, clock, (a) => actions.push({ at: clock.now(), a }));
  const take = () => actions.splice(0).map((x) => x.a);
  const adverts = (list: { at: number; a: MachineAction }[]) => list.filter((x) => x.a.type === 'send-advert');
  return { clock, m, actions, take, adverts };
}

test('starts in BACKUP and becomes MASTER after Master_Down_Interval (v2: 3 x advert + (256-prio)/256 s)', () => {
  const { clock, m, take } = setup();
  m.handle({ type: 'start' });
  assert.equal(m.state, 'BACKUP');
  const mdi = 3000 + (156 * 1000) / 256;
  assert.equal(m.masterDownIntervalMs(), mdi);
  take();
  clock.advance(mdi - 1);
  assert.equal(m.state, 'BACKUP');
  clock.advance(1);
  assert.equal(m.state, 'MASTER');
  const acts = take();
  assert.deepEqual(acts.at(-1), { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'master-down-timer', priority: 100 });
  assert.deepEqual(
    acts.map((a) => a.type),
    ['send-advert', 'add-vips', 'garp', 'transition'],
    'network first, notification last',
  );
});

test('MASTER sends an advert every advert_int', () => {
  const { clock, m, actions, adverts } = setup({ priority: 255 });
  m.handle({ type: 'start' });
  assert.equal(m.state, 'MASTER', 'owner goes MASTER at once');
  clock.advance(10_000);
  const times = adverts(actions).map((x) => x.at);
  assert.deepEqual(times, [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
});

test('BACKUP keeps resetting its timer on adverts of a higher or equal priority master', () => {
  const { clock, m } = setup();
  m.handle({ type: 'start' });
  for (let i = 0; i < 20; i++) {
    clock.advance(1000);
    m.handle({ type: 'advert', priority: 150, src: '10.0.0.1', advertIntMs: 1000 });
  }
  assert.equal(m.state, 'BACKUP');
  assert.equal(m.masterAddress, '10.0.0.1');
  clock.advance(3609);
  assert.equal(m.state, 'BACKUP');
  clock.advance(1);
  assert.equal(m.state, 'MASTER');
});

test('priority-0 advert: BACKUP takes over after Skew_Time only', () => {
  const { clock, m } = setup({ priority: 200 });
  m.handle({ type: 'start' });
  clock.advance(500);
  m.handle({ type: 'advert', priority: 0, src: '10.0.0.1', advertIntMs: 1000 });
  const skew = (56 * 1000) / 256;
  assert.equal(m.skewMs(), skew);
  clock.advance(skew - 1);
  assert.equal(m.state, 'BACKUP');
  clock.advance(1);
  assert.equal(m.state, 'MASTER');
  assert.equal(m.stats.priorityZeroReceived, 1);
});

test('MASTER yields to a higher priority (removes VIPs), and to an equal priority with a higher address', () => {
  for (const [prio, src, yields] of [
    [150, '10.0.0.1', true],
    [100, '10.0.0.3', true],
    [100, '10.0.0.1', false],
    [99, '10.0.0.9', false],
  ] as const) {
    const { clock, m, take } = setup();
    m.handle({ type: 'start' });
    clock.advance(4000);
    assert.equal(m.state, 'MASTER');
    take();
    m.handle({ type: 'advert', priority: prio, src, advertIntMs: 1000 });
    const acts = take();
    if (yields) {
      assert.equal(m.state, 'BACKUP', `${prio} ${src}`);
      assert.deepEqual(
        acts.map((a) => a.type),
        ['remove-vips', 'transition'],
      );
    } else {
      assert.equal(m.state, 'MASTER', `${prio} ${src}`);
      // keepalived answers a lower-priority advert at once, and refreshes the neighbours' ARP caches
      assert.deepEqual(acts, [{ type: 'send-advert', priority: 100 }, { type: 'garp-lower-prio' }]);
    }
  }
});

test('vrrp_lower_prio_no_advert and vrrp_higher_prio_send_advert', () => {
  const a = setup({ lowerPrioNoAdvert: true });
  a.m.handle({ type: 'start' });
  a.clock.advance(4000);
  a.take();
  a.m.handle({ type: 'advert', priority: 50, src: '10.0.0.1', advertIntMs: 1000 });
  assert.deepEqual(a.take(), [{ type: 'garp-lower-prio' }], 'no advert, but the GARP refresh (garp_lower_prio_repeat) still goes out');
  const b = setup({ higherPrioSendAdvert: true });
  b.m.handle({ type: 'start' });
  b.clock.advance(4000);
  b.take();
  b.m.handle({ type: 'advert', priority: 200, src: '10.0.0.1', advertIntMs: 1000 });
  assert.deepEqual(
    b.take().map((x) => x.type),
    ['send-advert', 'remove-vips', 'transition'],
  );
});

test('MASTER answers a priority-0 advert with an advert', () => {
  const { clock, m, take } = setup();
  m.handle({ type: 'start' });
  clock.advance(4000);
  take();
  m.handle({ type: 'advert', priority: 0, src: '10.0.0.1', advertIntMs: 1000 });
  assert.deepEqual(take(), [{ type: 'send-advert', priority: 100 }]);
});

test('preempt: a higher-priority BACKUP takes over from a lower-priority master after Master_Down_Interval', () => {
  const { clock, m } = setup({ priority: 200 });
  m.handle({ type: 'start' });
  const mdi = m.masterDownIntervalMs();
  let t = 0;
  while (m.state === 'BACKUP' && t < 10_000) {
    clock.advance(1000);
    t += 1000;
    m.handle({ type: 'advert', priority: 100, src: '10.0.0.1', advertIntMs: 1000 });
  }
  assert.equal(m.state, 'MASTER');
  assert.ok(t >= mdi && t <= mdi + 1000, `took over after ${t} ms`);
});

test('nopreempt: a higher-priority BACKUP does not take over while the master advertises', () => {
  const { clock, m } = setup({ priority: 200, nopreempt: true });
  m.handle({ type: 'start' });
  for (let i = 0; i < 30; i++) {
    clock.advance(1000);
    m.handle({ type: 'advert', priority: 100, src: '10.0.0.1', advertIntMs: 1000 });
  }
  assert.equal(m.state, 'BACKUP');
  clock.advance(4000);
  assert.equal(m.state, 'MASTER', 'still takes over when the master goes silent');
});

test('preempt_delay: preemption waits for the delay after the first lower-priority advert', () => {
  const { clock, m } = setup({ priority: 200, preemptDelayMs: 10_000 });
  m.handle({ type: 'start' });
  let t = 0;
  while (m.state === 'BACKUP' && t < 30_000) {
    clock.advance(1000);
    t += 1000;
    m.handle({ type: 'advert', priority: 100, src: '10.0.0.1', advertIntMs: 1000 });
  }
  assert.equal(m.state, 'MASTER');
  assert.ok(t >= 10_000 + 3000 && t <= 10_000 + 5000, `took over after ${t} ms`);
});

test('VRRPv3: centisecond intervals, Master_Adver_Interval learned from the master', () => {
  const { clock, m } = setup({ version: 3, advertIntMs: 500, priority: 130 });
  m.handle({ type: 'start' });
  assert.equal(m.masterDownIntervalMs(), 1500 + (126 * 500) / 256);
  m.handle({ type: 'advert', priority: 200, src: '10.0.0.1', advertIntMs: 2000 });
  assert.equal(m.masterAdvertIntMs, 2000);
  assert.equal(m.masterDownIntervalMs(), 6000 + (126 * 2000) / 256);
  clock.advance(6000);
  assert.equal(m.state, 'BACKUP');
  clock.advance(1000);
  assert.equal(m.state, 'MASTER');
});

test('fault: MASTER sends priority 0, removes VIPs, goes FAULT; recovers to BACKUP once all faults clear', () => {
  const { clock, m, take } = setup();
  m.handle({ type: 'start' });
  clock.advance(4000);
  take();
  m.handle({ type: 'fault', reason: 'interface eth0' });
  m.handle({ type: 'fault', reason: 'script chk' });
  assert.equal(m.state, 'FAULT');
  assert.deepEqual(
    take().map((a) => (a.type === 'send-advert' ? `advert ${a.priority}` : a.type)),
    ['advert 0', 'remove-vips', 'transition'],
  );
  clock.advance(10_000);
  assert.deepEqual(take(), [], 'no adverts in FAULT');
  m.handle({ type: 'advert', priority: 50, src: '10.0.0.1', advertIntMs: 1000 });
  m.handle({ type: 'unfault', reason: 'interface eth0' });
  assert.equal(m.state, 'FAULT');
  m.handle({ type: 'unfault', reason: 'script chk' });
  assert.equal(m.state, 'BACKUP');
  clock.advance(4000);
  assert.equal(m.state, 'MASTER');
});

test('starting with a fault enters FAULT directly', () => {
  const { m } = setup();
  m.handle({ type: 'fault', reason: 'interface eth0' });
  m.handle({ type: 'start' });
  assert.equal(m.state, 'FAULT');
});

test('shutdown: MASTER sends priority 0 and removes VIPs; BACKUP just stops', () => {
  const a = setup();
  a.m.handle({ type: 'start' });
  a.clock.advance(4000);
  a.take();
  a.m.handle({ type: 'shutdown' });
  assert.equal(a.m.state, 'STOP');
  assert.deepEqual(
    a.take().map((x) => x.type),
    ['send-advert', 'remove-vips', 'transition'],
  );
  a.clock.advance(5000);
  assert.deepEqual(a.take(), []);
  const b = setup();
  b.m.handle({ type: 'start' });
  b.take();
  b.m.handle({ type: 'shutdown' });
  assert.deepEqual(
    b.take().map((x) => x.type),
    ['transition'],
  );
  assert.equal(b.clock.pending(), 0);
});

test('priority changes from tracking are carried by the next adverts and used for preemption', () => {
  const { clock, m, actions } = setup({ priority: 255 });
  m.handle({ type: 'start' });
  const b = setup({ priority: 90 });
  b.m.handle({ type: 'start' });
  b.m.handle({ type: 'priority', priority: 120 });
  let t = 0;
  while (b.m.state === 'BACKUP' && t < 10_000) {
    b.clock.advance(1000);
    t += 1000;
    b.m.handle({ type: 'advert', priority: 100, src: '10.0.0.1', advertIntMs: 1000 });
  }
  assert.equal(b.m.state, 'MASTER', 'raised priority preempts');
  m.handle({ type: 'priority', priority: 200 });
  clock.advance(1000);
  const last = actions.filter((x) => x.a.type === 'send-advert').pop()!.a;
  assert.deepEqual(last, { type: 'send-advert', priority: 200 });
});

test('sync group events move BACKUP to MASTER and MASTER to BACKUP', () => {
  const { m } = setup();
  m.handle({ type: 'start' });
  m.handle({ type: 'group-master' });
  assert.equal(m.state, 'MASTER');
  m.handle({ type: 'group-backup' });
  assert.equal(m.state, 'BACKUP');
});

test("the master-down timer runs from the advert's arrival: a late-handled advert (ageMs) shortens it by its age", () => {
  const { clock, m } = setup();
  m.handle({ type: 'start' });
  const mdi = m.masterDownIntervalMs();
  clock.advance(500);
  // the kernel received it 4 ms before the event loop handled it
  m.handle({ type: 'advert', priority: 150, src: '10.0.0.1', advertIntMs: 1000, ageMs: 4 });
  clock.advance(mdi - 4 - 1);
  assert.equal(m.state, 'BACKUP');
  clock.advance(1);
  assert.equal(m.state, 'MASTER', 'MASTER at arrival + Master_Down_Interval');
  // priority 0: Skew_Time from its arrival; an age beyond it fires at once, never before "now"
  const b = setup();
  b.m.handle({ type: 'start' });
  b.m.handle({ type: 'advert', priority: 0, src: '10.0.0.1', advertIntMs: 1000, ageMs: 10_000 });
  assert.equal(b.m.state, 'BACKUP');
  b.clock.advance(0);
  assert.equal(b.m.state, 'MASTER');
});
