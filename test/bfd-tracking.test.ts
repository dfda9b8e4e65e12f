// track_bfd in the VRRP engine (over the in-process LAN): keepalived's arithmetic (weight 0 = FAULT,
// a positive weight while Up, a negative one while Down, `reverse` negating the amount, the
// bfd_instance's weight by default), sync groups tracking a session, and the advertised priority.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { BfdInstance, SyncGroup } from '../src/config/model.js';
import { VrrpEngine } from '../src/vrrp/engine.js';
import { computeEffectivePriority } from '../src/vrrp/tracking.js';
import { config, instance, vip, waitFor } from './vrrp-helpers.js';
import { MemLan } from './vrrp-memnet.js';

const log = pino({ level: 'silent' });
const fast = { advertInt: 100, version: 3 as const };

test('keepalived’s track_bfd arithmetic', () => {
  const p = (weight: number, reverse: boolean, ok: boolean) => computeEffectivePriority(100, [{ kind: 'bfd', name: 'b', weight, reverse, ok }]);
  assert.deepEqual(p(0, false, false), { priority: 100, faults: ['bfd b'] });
  assert.deepEqual(p(0, false, true), { priority: 100, faults: [] });
  assert.deepEqual(p(0, true, true), { priority: 100, faults: ['bfd b'] }, 'weight 0 reverse: FAULT while Up');
  assert.equal(p(20, false, true).priority, 120);
  assert.equal(p(20, false, false).priority, 100);
  assert.equal(p(-20, false, true).priority, 100);
  assert.equal(p(-20, false, false).priority, 80);
  assert.equal(p(20, true, true).priority, 80, 'reverse negates the amount: Up takes 20 off');
  assert.equal(p(20, true, false).priority, 100);
  assert.equal(p(-20, true, false).priority, 120);
});

const bfd = (name: string, over: Partial<BfdInstance> = {}): BfdInstance => ({
  name,
  neighborIp: '10.0.0.9',
  minRx: 10,
  minTx: 10,
  idleTx: 1000,
  multiplier: 5,
  passive: false,
  loc: { file: 't', line: 1 },
  ...over,
});

test('VRRP engine: track_bfd FAULT until Up, the bfd_instance’s weight by default, a sync group tracking a session', async () => {
  const lan = new MemLan();
  const h = lan.host('10.0.0.1');
  const e = new VrrpEngine({ io: h, logger: log });
  const a = instance('A', {
    ...fast,
    virtualRouterId: 1,
    priority: 100,
    virtualIpaddress: [vip('10.0.0.101')],
    trackBfd: [{ name: 'b0', reverse: false, loc: { file: 't', line: 1 } }],
  });
  const w = instance('W', {
    ...fast,
    virtualRouterId: 2,
    priority: 100,
    virtualIpaddress: [vip('10.0.0.102')],
    trackBfd: [{ name: 'bw', reverse: false, loc: { file: 't', line: 1 } }],
  });
  const g1 = instance('G1', { ...fast, virtualRouterId: 3, priority: 100, virtualIpaddress: [vip('10.0.0.103')] });
  const group: SyncGroup = {
    name: 'G',
    members: ['G1'],
    notify: {},
    globalTracking: false,
    syncGroupTrackingWeight: false,
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    trackBfd: [{ name: 'bg', reverse: false, loc: { file: 't', line: 1 } }],
    loc: a.loc,
  };
  const c = { ...config({ instances: [a, w, g1], syncGroups: [group] }), bfdInstances: [bfd('b0'), bfd('bw', { weight: -30 }), bfd('bg')] };
  await e.start(c);
  try {
    const state = (n: string) =>
      (e.snapshot() as { instances: { name: string; state: string; effectivePriority?: number; priority?: number }[] }).instances.find((i) => i.name === n)!;
    // sessions start Down: A and the group are in FAULT, W runs at 100 - 30
    await waitFor('W master', () => h.addresses.has('10.0.0.102'), 2000);
    assert.equal(state('A').state, 'FAULT');
    assert.equal(state('G1').state, 'FAULT');
    await waitFor('W advertises 70', () => h.sent.some((s) => s.vrid === 2 && s.priority === 70), 1000);
    e.bfdState('b0', true);
    e.bfdState('bg', true);
    e.bfdState('bw', true);
    await waitFor('A and G1 master', () => h.addresses.has('10.0.0.101') && h.addresses.has('10.0.0.103'), 2000);
    const n = h.sent.length;
    await waitFor('W advertises 100', () => h.sent.slice(n).some((s) => s.vrid === 2 && s.priority === 100), 1000);
    e.bfdState('bg', false);
    await waitFor('G1 released by the group FAULT', () => !h.addresses.has('10.0.0.103'), 1000);
    assert.equal(state('G1').state, 'FAULT');
    assert.ok(h.addresses.has('10.0.0.101'), 'A does not track bg');
  } finally {
    await e.stop({ release: true });
  }
});
