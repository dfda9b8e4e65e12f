// Engine logic over an in-process LAN: reload semantics, sync groups, tracking, events, reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VrrpEngine } from '../src/vrrp/engine.js';
import type { EngineEvent } from '../src/engine-api/types.js';
import { MemLan } from './vrrp-memnet.js';
import { config, instance, vip, waitFor, sleep } from './vrrp-helpers.js';

const log = pino({ level: 'silent' });
const fast = { advertInt: 100, version: 3 as const };

test('engine: higher priority wins, events emitted, stop sends priority 0 and releases', async () => {
  const lan = new MemLan();
  const ha = lan.host('10.0.0.1');
  const hb = lan.host('10.0.0.2');
  const ea = new VrrpEngine({ io: ha, logger: log });
  const eb = new VrrpEngine({ io: hb, logger: log });
  const evA: EngineEvent[] = [];
  ea.on((e) => evA.push(e));
  const mk = (p: number) => config({ instances: [instance('VI_1', { ...fast, priority: p, virtualIpaddress: [vip('10.0.0.100')] })] });
  await ea.start(mk(150));
  await eb.start(mk(100));
  await waitFor('A master', () => ha.addresses.has('10.0.0.100'), 2000);
  await sleep(300);
  assert.ok(!hb.addresses.has('10.0.0.100'));
  assert.deepEqual(
    evA.map((e) => (e.kind === 'vrrp-instance' ? `${e.previous}->${e.state}` : '')),
    ['INIT->BACKUP', 'BACKUP->MASTER'],
  );
  assert.ok(ha.garps.length >= 5, 'garp_master_repeat 5');
  await ea.stop({ release: true });
  assert.ok(!ha.addresses.has('10.0.0.100'));
  assert.equal(ha.sent.at(-1)!.priority, 0);
  await waitFor('B master after priority 0', () => hb.addresses.has('10.0.0.100'), 300);
  assert.match(eb.dumpStats(), /Priority Zero:\n {4}Received: 1/);
  assert.ok(eb.metrics().some((m) => m.name === 'tskeepalived_vrrp_state' && m.value === 2));
  await eb.stop({ release: false });
  assert.ok(hb.addresses.has('10.0.0.100'), 'release=false keeps the VIP');
});

test('engine reload: unchanged instance keeps state and VIPs without GARP; changed restarts; removed released', async () => {
  const lan = new MemLan();
  const h = lan.host('10.0.0.1');
  const e = new VrrpEngine({ io: h, logger: log });
  const events: EngineEvent[] = [];
  e.on((x) => events.push(x));
  const a = instance('A', { ...fast, virtualRouterId: 1, priority: 255, virtualIpaddress: [vip('10.0.0.101')] });
  const b = instance('B', { ...fast, virtualRouterId: 2, priority: 255, virtualIpaddress: [vip('10.0.0.102')] });
  const c = instance('C', { ...fast, virtualRouterId: 3, priority: 255, virtualIpaddress: [vip('10.0.0.103')] });
  await e.start(config({ instances: [a, b, c] }));
  await waitFor('all master', () => h.addresses.size === 3, 1000);
  await sleep(50);
  const garpsBefore = h.garps.filter((g) => g.address === '10.0.0.101').length;
  events.length = 0;
  const b2 = { ...b, virtualIpaddress: [vip('10.0.0.112')] };
  await e.reload(config({ instances: [a, b2] }));
  await waitFor('B2 address', () => h.addresses.has('10.0.0.112'), 1000);
  await sleep(50);
  assert.ok(h.addresses.has('10.0.0.101'), 'A kept its VIP');
  assert.ok(!h.addresses.has('10.0.0.102'), 'old B VIP removed');
  assert.ok(!h.addresses.has('10.0.0.103'), 'removed C released');
  assert.equal(h.garps.filter((g) => g.address === '10.0.0.101').length, garpsBefore, 'no GARP for unchanged A');
  assert.ok(!events.some((x) => x.kind === 'vrrp-instance' && x.name === 'A'), 'no transition for A');
  assert.ok(events.some((x) => x.kind === 'vrrp-instance' && x.name === 'C' && x.state === 'DELETED'));
  await e.stop({ release: true });
});

test('engine: interface down -> FAULT (priority 0 sent), up -> BACKUP then MASTER; sync group follows', async () => {
  const lan = new MemLan();
  const h = lan.host('10.0.0.1');
  const e = new VrrpEngine({ io: h, logger: log });
  const events: EngineEvent[] = [];
  e.on((x) => events.push(x));
  const a = instance('A', { ...fast, virtualRouterId: 1, priority: 100, virtualIpaddress: [vip('10.0.0.101')] });
  const b = instance('B', { ...fast, virtualRouterId: 2, priority: 100, virtualIpaddress: [vip('10.0.0.102')], interface: 'eth1', trackInterface: [] });
  h.linkUp.set('eth1', true);
  await e.start(
    config({
      instances: [a, b],
      syncGroups: [
        {
          name: 'G',
          members: ['A', 'B'],
          notify: {},
          globalTracking: false,
          syncGroupTrackingWeight: false,
          trackInterface: [],
          trackScript: [],
          trackFile: [],
          loc: a.loc,
        },
      ],
    }),
  );
  await waitFor('both master', () => h.addresses.size === 2, 2000);
  assert.ok(events.some((x) => x.kind === 'vrrp-group' && x.state === 'MASTER'));
  h.setLink('eth1', false);
  await waitFor('both released', () => h.addresses.size === 0, 500);
  const snap = e.snapshot() as { instances: { name: string; state: string }[] };
  assert.deepEqual(
    snap.instances.map((i) => i.state),
    ['FAULT', 'FAULT'],
    'the whole group is in FAULT',
  );
  assert.ok(events.some((x) => x.kind === 'vrrp-group' && x.state === 'FAULT'));
  h.setLink('eth1', true);
  await waitFor('both master again', () => h.addresses.size === 2, 2000);
  await e.stop({ release: true });
});

test('engine: track_file value x weight changes the advertised priority and makes the peer preempt', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tkv-tf-'));
  try {
    const file = join(dir, 'prio');
    writeFileSync(file, '0\n');
    const lan = new MemLan();
    const ha = lan.host('10.0.0.1');
    const hb = lan.host('10.0.0.2');
    const ea = new VrrpEngine({ io: ha, logger: log });
    const eb = new VrrpEngine({ io: hb, logger: log });
    const loc = { file: 't', line: 1 };
    const ca = config({
      instances: [instance('VI_1', { ...fast, priority: 150, virtualIpaddress: [vip('10.0.0.100')], trackFile: [{ name: 'tf', reverse: false, loc }] })],
    });
    ca.trackFiles = [{ name: 'tf', file, weight: -10, weightReverse: false, loc }];
    await ea.start(ca);
    await eb.start(config({ instances: [instance('VI_1', { ...fast, priority: 100, virtualIpaddress: [vip('10.0.0.100')] })] }));
    await waitFor('A master', () => ha.addresses.has('10.0.0.100'), 2000);
    writeFileSync(file, '6\n'); // 150 + 6 x -10 = 90 < 100
    await waitFor('A advertises 90', () => ha.sent.at(-1)?.priority === 90, 2000);
    await waitFor('B preempts', () => hb.addresses.has('10.0.0.100') && !ha.addresses.has('10.0.0.100'), 2000);
    const snap = ea.snapshot() as { instances: { effectivePriority: number; state: string }[] };
    assert.equal(snap.instances[0].effectivePriority, 90);
    assert.equal(snap.instances[0].state, 'BACKUP');
    await ea.stop({ release: true });
    await eb.stop({ release: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('engine: an instance whose interface is missing at start is FAULT and recovers when it appears', async () => {
  const lan = new MemLan();
  const h = lan.host('10.0.0.1');
  h.linkUp.delete('eth0');
  const e = new VrrpEngine({ io: h, logger: log });
  await e.start(config({ instances: [instance('VI_1', { ...fast, priority: 100, virtualIpaddress: [vip('10.0.0.100')] })] }));
  const state = () => (e.snapshot() as { instances: { state: string }[] }).instances[0].state;
  assert.equal(state(), 'FAULT');
  h.setLink('eth0', true);
  await waitFor('MASTER once the interface exists', () => h.addresses.has('10.0.0.100'), 2000);
  await e.stop({ release: true });
});

test('engine: a new MASTER sends its first GARP only once its addresses are in place (slow address installation)', async () => {
  const lan = new MemLan();
  const h = lan.host('10.0.0.1');
  const addedAt = new Map<string, number>();
  const add = h.addAddress.bind(h);
  // an address installation that takes 80 ms, as netlink does on a loaded host
  h.addAddress = async (ifname, a) => {
    await sleep(80);
    await add(ifname, a);
    addedAt.set(a.prefix.address, Date.now());
  };
  const e = new VrrpEngine({ io: h, logger: log });
  try {
    await e.start(config({ instances: [instance('VI_1', { ...fast, priority: 150, virtualIpaddress: [vip('10.0.0.100')] })] }));
    await waitFor('first GARP', () => h.garps.length > 0, 3000);
    assert.ok(addedAt.has('10.0.0.100'), 'the VIP is in place when the first GARP goes out');
    assert.ok(h.garps[0].at >= addedAt.get('10.0.0.100')!, `GARP ${h.garps[0].at - addedAt.get('10.0.0.100')!} ms after the address`);
  } finally {
    await e.stop({ release: true });
  }
});
