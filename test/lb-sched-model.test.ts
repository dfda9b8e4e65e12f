// The userspace schedulers against a reference model of IPVS's algorithms (pure, injected clock).
// A seeded workload of 1,000 connections of mixed durations arrives over weighted servers; the scheduler
// under test keeps IPVS's incremental counters (bindConn / markEstablished / markNotEstablished /
// unbindConn), while the reference recomputes each server's counters from the connection history at every
// arrival (active: started and not yet ended; inactive: ended less than TIME_WAIT ago) and applies the
// kernel's definitions (ip_vs_lc/wlc/sed/nq/lblc/lblcr.c, ipvsadm(8)) directly. Both must make the same
// choice for every connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindConn, createScheduler, unbindConn } from '../src/lb/schedulers.js';
import type { SchedDest } from '../src/lb/schedulers.js';
import { meanActive, runScheduler, TIME_WAIT, tally, workload } from './lb-sched-workload.js';
import type { Conn, Server } from './lb-sched-workload.js';

// ---- the reference: counters from history, choices from the kernel's definitions ----

/** a/b < c/d for non-negative a, c and positive b, d (no division). */
const lessRatio = (a: number, b: number, c: number, d: number) => a * d < c * b;

function refCounters(history: { server: number; start: number; end: number }[], t: number, n: number) {
  const active = new Array(n).fill(0) as number[];
  const inactive = new Array(n).fill(0) as number[];
  for (const h of history) {
    if (h.start <= t && t < h.end) active[h.server]!++;
    else if (h.end <= t && t < h.end + TIME_WAIT) inactive[h.server]!++;
  }
  return { active, inactive };
}

/** The first server (list order) with the least ratio; IPVS replaces its candidate only when strictly less loaded. */
function refLeast(servers: Server[], num: (i: number) => number, weighted: boolean): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < servers.length; i++) {
    if (servers[i]!.weight <= 0) continue;
    if (best === undefined) best = i;
    else if (weighted ? lessRatio(num(i), servers[i]!.weight, num(best), servers[best]!.weight) : num(i) < num(best)) best = i;
  }
  return best;
}

function refPick(
  name: string,
  servers: Server[],
  c: { active: number[]; inactive: number[] },
  loc: { lblc: Map<string, number>; lblcr: Map<string, number[]> },
  daddr: string,
): number | undefined {
  const overhead = (i: number) => c.active[i]! * 256 + c.inactive[i]!;
  const wlc = () => refLeast(servers, overhead, true);
  // lblc/lblcr: "n.conns > n.weight AND there is a node m with m.conns < m.weight/2"
  const overloaded = (i: number) => c.active[i]! > servers[i]!.weight && servers.some((s, m) => c.active[m]! < s.weight / 2);
  switch (name) {
    case 'lc':
      return refLeast(servers, overhead, false);
    case 'wlc':
      return wlc();
    case 'sed':
      return refLeast(servers, (i) => c.active[i]! + 1, true);
    case 'nq': {
      const idle = servers.findIndex((s, i) => s.weight > 0 && c.active[i] === 0);
      return idle >= 0 ? idle : refLeast(servers, (i) => c.active[i]! + 1, true);
    }
    case 'lblc': {
      const cached = loc.lblc.get(daddr);
      if (cached !== undefined && servers[cached]!.weight > 0 && !overloaded(cached)) return cached;
      const n = wlc();
      if (n !== undefined) loc.lblc.set(daddr, n);
      return n;
    }
    case 'lblcr': {
      const set = loc.lblcr.get(daddr);
      if (!set) {
        const n = wlc();
        if (n !== undefined) loc.lblcr.set(daddr, [n]);
        return n;
      }
      // least loaded member (members newest first), no expiry within this workload's hour
      const member = refLeast(
        set.map((i) => servers[i]!),
        (k) => overhead(set[k]!),
        true,
      );
      const n = member === undefined ? undefined : set[member]!;
      if (n !== undefined && !overloaded(n)) return n;
      const w = wlc();
      if (w !== undefined && !set.includes(w)) set.unshift(w);
      return w;
    }
    default:
      throw new Error(name);
  }
}

function runReference(name: string, servers: Server[], conns: Conn[]): number[] {
  const history: { server: number; start: number; end: number }[] = [];
  const loc = { lblc: new Map<string, number>(), lblcr: new Map<string, number[]>() };
  const picks: number[] = [];
  for (const c of conns) {
    const i = refPick(name, servers, refCounters(history, c.start, servers.length), loc, c.daddr);
    assert.ok(i !== undefined);
    history.push({ server: i, start: c.start, end: c.end });
    picks.push(i);
  }
  return picks;
}

const SERVERS: Server[] = [{ weight: 5 }, { weight: 3 }, { weight: 1 }, { weight: 1 }];

for (const name of ['lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr']) {
  test(`${name}: 1,000 connections of mixed durations over weights 5:3:1:1 choose exactly as IPVS's algorithm`, (t) => {
    for (const seed of [1, 2, 3]) {
      const conns = workload(seed);
      const got = runScheduler(name, SERVERS, conns);
      const want = runReference(name, SERVERS, conns);
      const gotT = tally(got, SERVERS.length);
      const wantT = tally(want, SERVERS.length);
      const same = got.filter((p, i) => p === want[i]).length;
      t.diagnostic(
        `seed ${seed}: counts ${gotT.join('/')} (reference ${wantT.join('/')}), same choice ${same}/1000, mean active ${meanActive(got, conns, SERVERS.length).join('/')}`,
      );
      assert.deepEqual(gotT, wantT);
      assert.equal(same, conns.length, `first difference at connection ${got.findIndex((p, i) => p !== want[i])}`);
    }
  });
}

test('wlc spreads the load by weight, lc ignores weights (the property the choice exists for)', () => {
  const conns = workload(7);
  const wlc = meanActive(runScheduler('wlc', SERVERS, conns), conns, 4);
  const lc = meanActive(runScheduler('lc', SERVERS, conns), conns, 4);
  // wlc: the weight-5 server carries clearly more than the weight-1 servers; lc: about the same on each
  assert.ok(wlc[0]! > 2.5 * wlc[2]! && wlc[0]! > 2.5 * wlc[3]!, `wlc mean active ${wlc}`);
  assert.ok(lc[0]! < 1.6 * lc[2]! && lc[2]! < 1.6 * lc[0]!, `lc mean active ${lc}`);
});

test('persistence over wlc: every connection of a client inside a template lifetime goes to the template server', (t) => {
  const conns = workload(11);
  const picks = runScheduler('wlc', SERVERS, conns, 60_000);
  // reference: replay the template rule (timer armed at each new connection, fires every 60 s, expires
  // at the first firing when no entry it controls - connection or its TIME_WAIT - is left)
  const tmpl = new Map<string, { server: number; armed: number; ends: number[] }>();
  let stuck = 0;
  conns.forEach((c, i) => {
    const e = tmpl.get(c.client);
    if (e) {
      const live = e.ends.filter((x) => x > c.start);
      const lastEnd = Math.max(...e.ends);
      let alive = live.length > 0;
      if (!alive) {
        const firing = e.armed + Math.max(1, Math.ceil((lastEnd - e.armed) / 60_000)) * 60_000;
        alive = c.start < firing;
      }
      if (alive) {
        assert.equal(picks[i], e.server, `connection ${i} of ${c.client}`);
        stuck++;
        e.armed = c.start;
        e.ends.push(c.end + TIME_WAIT);
        return;
      }
    }
    tmpl.set(c.client, { server: picks[i]!, armed: c.start, ends: [c.end + TIME_WAIT] });
  });
  t.diagnostic(`${stuck} of ${conns.length} connections went through a live template`);
  assert.ok(stuck > 500, `only ${stuck} connections reused a template`);
});

test('overload flag: set at uthreshold, cleared below 3/4 of it (or below lthreshold)', () => {
  const d: SchedDest = { id: 'a', weight: 1, active: 0, inactive: 0, uthreshold: 4 };
  for (let i = 0; i < 4; i++) bindConn(d);
  assert.equal(d.overloaded, true);
  assert.equal(createScheduler('wlc').pick([d], { address: '1.1.1.1', port: 1, serviceAddress: '2.2.2.2' }), undefined);
  unbindConn(d, false); // 3 * 4 = 12, not < 12
  assert.equal(d.overloaded, true);
  unbindConn(d, false);
  assert.equal(d.overloaded, false);
  const l: SchedDest = { id: 'b', weight: 1, active: 0, inactive: 0, uthreshold: 3, lthreshold: 1 };
  for (let i = 0; i < 3; i++) bindConn(l);
  unbindConn(l, false);
  unbindConn(l, false);
  assert.equal(l.overloaded, true);
  unbindConn(l, false);
  assert.equal(l.overloaded, false);
});

test('lblc/lblcr: the locality table expires; lblcr drops its most loaded member after the expiration', () => {
  let now = 0;
  const ds: SchedDest[] = [
    { id: 'a', weight: 2, active: 0, inactive: 0 },
    { id: 'b', weight: 2, active: 0, inactive: 0 },
  ];
  const c = { address: '10.0.0.1', port: 1, serviceAddress: '192.0.2.1' };
  const lblc = createScheduler('lblc', [], { now: () => now, lblcExpirationMs: 1000 });
  assert.equal(lblc.pick(ds, c)!.id, 'a');
  ds[0]!.active = 3; // > weight 2 while b has 0 * 2 < 2: overloaded, move to wlc's choice
  assert.equal(lblc.pick(ds, c)!.id, 'b');
  ds[0]!.active = 0;
  assert.equal(lblc.pick(ds, c)!.id, 'b'); // remembered
  now = 1500; // unused for longer than the expiration: forgotten, wlc again
  ds[1]!.active = 1;
  assert.equal(lblc.pick(ds, c)!.id, 'a');

  now = 0;
  ds[0]!.active = 0;
  ds[1]!.active = 0;
  const lblcr = createScheduler('lblcr', [], { now: () => now, lblcExpirationMs: 1000 }) as ReturnType<typeof createScheduler> & { entry(a: string): string[] };
  assert.equal(lblcr.pick(ds, c)!.id, 'a');
  ds[0]!.active = 3;
  assert.equal(lblcr.pick(ds, c)!.id, 'b'); // added to the set
  assert.deepEqual(lblcr.entry('192.0.2.1'), ['b', 'a']);
  ds[1]!.active = 1;
  now = 500;
  assert.equal(lblcr.pick(ds, c)!.id, 'b'); // least loaded member
  now = 1001; // set unchanged for longer than the expiration: the most loaded member (a) leaves
  assert.equal(lblcr.pick(ds, c)!.id, 'b');
  assert.deepEqual(lblcr.entry('192.0.2.1'), ['b']);
});
