// Scheduler distributions (pure): the userspace proxy's schedulers and the nftables slot tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, PersistenceTable } from '../src/lb/schedulers.js';
import type { SchedDest } from '../src/lb/schedulers.js';
import { rendezvousSlots, slotCounts, smoothSequence } from '../src/lb/weights.js';

const dests = (...weights: number[]): SchedDest[] => weights.map((weight, i) => ({ id: `d${i}`, weight, active: 0 }));
const client = (address: string, port = 1000) => ({ address, port, serviceAddress: '10.0.0.1' });

function count(picks: (SchedDest | undefined)[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const p of picks) t[p?.id ?? 'none'] = (t[p?.id ?? 'none'] ?? 0) + 1;
  return t;
}

test('rr skips weight 0; wrr is exactly proportional and interleaved', () => {
  const rr = createScheduler('rr');
  const ds = dests(1, 0, 5);
  assert.deepEqual(count(Array.from({ length: 10 }, () => rr.pick(ds, client('1.1.1.1')))), { d0: 5, d2: 5 });
  const wrr = createScheduler('wrr');
  const w = dests(5, 3, 2);
  const seq = Array.from({ length: 1000 }, () => wrr.pick(w, client('1.1.1.1'))!.id);
  assert.deepEqual(count(seq.map((id) => ({ id }) as SchedDest)), { d0: 500, d1: 300, d2: 200 });
  // interleaved: d0 never runs more than twice in a row with 5:3:2
  assert.ok(!seq.join(',').includes('d0,d0,d0'));
  assert.equal(createScheduler('wrr').pick(dests(0, 0), client('1.1.1.1')), undefined);
});

test('sh: deterministic per client, spread follows weights over many clients, sh-port uses the port', () => {
  const sh = createScheduler('sh');
  const ds = dests(1, 1, 2);
  const picks = [];
  for (let i = 0; i < 4000; i++) {
    const c = client(`10.${(i >> 8) & 255}.${i & 255}.7`);
    const a = sh.pick(ds, c)!;
    assert.equal(createScheduler('sh').pick(ds, c)!.id, a.id); // no hidden state
    picks.push(a);
  }
  const t = count(picks);
  // IPVS's 256 buckets (64/64/128 by weight): each share is within a few percent of its weight share
  assert.ok(Math.abs(t.d0! - 1000) < 250 && Math.abs(t.d1! - 1000) < 250 && Math.abs(t.d2! - 2000) < 300, JSON.stringify(t));
  const plain = new Set(Array.from({ length: 50 }, (_, p) => sh.pick(ds, client('10.9.9.9', p))!.id));
  assert.equal(plain.size, 1);
  const withPort = createScheduler('sh', ['sh-port']);
  const ported = new Set(Array.from({ length: 50 }, (_, p) => withPort.pick(ds, client('10.9.9.9', p))!.id));
  assert.ok(ported.size > 1);
});

test('lc / wlc / sed / nq pick by open connections', () => {
  const ds = dests(1, 1, 1);
  ds[0]!.active = 3;
  ds[1]!.active = 1;
  ds[2]!.active = 2;
  assert.equal(createScheduler('lc').pick(ds, client('1.1.1.1'))!.id, 'd1');
  const w = dests(4, 1);
  w[0]!.active = 3; // 3/4 < 1/1
  w[1]!.active = 1;
  assert.equal(createScheduler('wlc').pick(w, client('1.1.1.1'))!.id, 'd0');
  const s = dests(1, 10);
  s[0]!.active = 0; // sed: (0+1)/1 = 1  vs (5+1)/10 = 0.6
  s[1]!.active = 5;
  assert.equal(createScheduler('sed').pick(s, client('1.1.1.1'))!.id, 'd1');
  assert.equal(createScheduler('nq').pick(s, client('1.1.1.1'))!.id, 'd0'); // idle server first
});

test('fo, ovf and upper thresholds', () => {
  const ds = dests(2, 7, 3);
  assert.equal(createScheduler('fo').pick(ds, client('1.1.1.1'))!.id, 'd1');
  ds[1]!.active = 7; // IPVS ovf: active <= weight still takes connections
  assert.equal(createScheduler('ovf').pick(ds, client('1.1.1.1'))!.id, 'd1');
  ds[1]!.active = 8;
  assert.equal(createScheduler('ovf').pick(ds, client('1.1.1.1'))!.id, 'd2');
  ds[1]!.uthreshold = 7; // overloaded
  assert.equal(createScheduler('fo').pick(ds, client('1.1.1.1'))!.id, 'd2');
  assert.throws(() => createScheduler('xyz'), /unknown scheduler "xyz"/);
});

test('persistence templates expire after the timeout once idle (injected clock)', () => {
  let now = 0;
  const p = new PersistenceTable(300_000, 24, () => now);
  p.open('10.1.2.3', 'd1');
  assert.equal(p.lookup('10.1.2.99'), 'd1'); // same /24
  assert.equal(p.lookup('10.1.3.1'), undefined);
  now = 1_000_000;
  assert.equal(p.lookup('10.1.2.3'), 'd1'); // a connection is still open
  p.close('10.1.2.3', 'd1');
  // the template's timer, armed at 0, fires every 300 s; the first firing with no connection left (1,200 s) expires it
  now = 1_199_999;
  assert.equal(p.lookup('10.1.2.3'), 'd1');
  now = 1_200_000;
  assert.equal(p.lookup('10.1.2.3'), undefined);
  assert.equal(p.size(), 0);
  // a new connection through the template restarts its timer
  p.open('10.1.2.3', 'd2');
  now += 100_000;
  p.open('10.1.2.4', 'd2');
  p.close('10.1.2.3', 'd2');
  p.close('10.1.2.4', 'd2');
  now += 299_999;
  assert.equal(p.lookup('10.1.2.3'), 'd2');
  now += 1;
  assert.equal(p.lookup('10.1.2.3'), undefined);
});

test('nftables slot tables: gcd reduction, scaling cap, smooth order', () => {
  assert.deepEqual(slotCounts([300, 200, 100]), [3, 2, 1]);
  const big = slotCounts([5000, 1], 1024);
  assert.ok(big[0]! <= 1024 && big[1] === 1);
  assert.deepEqual(smoothSequence([3, 1]), [0, 0, 1, 0]);
  assert.deepEqual(smoothSequence([1, 1, 1]), [0, 1, 2]);
});

test('rendezvous slots: shares follow weights; a member leaving only moves its own slots', () => {
  const members = [
    { id: 'a', weight: 1 },
    { id: 'b', weight: 1 },
    { id: 'c', weight: 2 },
  ];
  const table = rendezvousSlots(members);
  const share = [0, 1, 2].map((i) => table.filter((x) => x === i).length);
  assert.ok(Math.abs(share[0]! - 64) < 25 && Math.abs(share[1]! - 64) < 25 && Math.abs(share[2]! - 128) < 30, JSON.stringify(share));
  const without = rendezvousSlots([members[0]!, { id: 'b', weight: 0 }, members[2]!]);
  table.forEach((owner, slot) => {
    if (owner !== 1) assert.equal(without[slot], owner, `slot ${slot} moved`);
    else assert.notEqual(without[slot], 1);
  });
});

test('sh with a server at weight 0 (IPVS keeps its bucket): its clients get none, the others stay; removal refills the table', () => {
  const sh = createScheduler('sh');
  const ds = dests(1, 1, 1);
  const clients = Array.from({ length: 300 }, (_, i) => client(`10.2.${i >> 8}.${i & 255}`));
  const before = clients.map((c) => sh.pick(ds, c)!.id);
  ds[1]!.weight = 0;
  const after = clients.map((c) => sh.pick(ds, c)?.id ?? 'none');
  let refused = 0;
  before.forEach((b, i) => {
    if (b !== 'd1') assert.equal(after[i], b);
    else {
      assert.equal(after[i], 'none');
      refused++;
    }
  });
  assert.ok(refused > 50 && refused < 150, `refused ${refused}`);
  // removed: 256 buckets over two servers, every client has one again
  const removed = [ds[0]!, ds[2]!];
  assert.ok(clients.every((c) => sh.pick(removed, c) !== undefined));
});

test('sh with an overloaded server: no destination (IPVS), or with sh-fallback another server; other clients stay', () => {
  const ds = dests(1, 1, 1);
  const clients = Array.from({ length: 200 }, (_, i) => client(`10.3.${i >> 8}.${i & 255}`));
  const before = clients.map((c) => createScheduler('sh').pick(ds, c)!.id);
  ds[0]!.overloaded = true;
  const strict = createScheduler('sh');
  const fb = createScheduler('sh', ['sh-fallback']);
  clients.forEach((c, i) => {
    if (before[i] === 'd0') {
      assert.equal(strict.pick(ds, c), undefined);
      assert.notEqual(fb.pick(ds, c)!.id, 'd0');
    } else {
      assert.equal(strict.pick(ds, c)!.id, before[i]);
      assert.equal(fb.pick(ds, c)!.id, before[i]);
    }
  });
  assert.ok(before.filter((b) => b === 'd0').length > 30);
});
