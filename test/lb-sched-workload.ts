// A seeded connection workload and an event-driven driver for the pure userspace schedulers (injected
// clock): used by test/lb-sched-model.test.ts (against the IPVS reference model) and bench/lb-schedulers.ts.
// No side effects at import time.
import { bindConn, createScheduler, markEstablished, markNotEstablished, PersistenceTable, unbindConn } from '../src/lb/schedulers.js';
import type { SchedDest } from '../src/lb/schedulers.js';
import { prng } from './prng.js';

/** IPVS's TCP TIME_WAIT timeout: a closed connection's entry stays counted (inactive) this long. */
export const TIME_WAIT = 120_000;

export interface Conn {
  start: number;
  end: number;
  /** a client address (persistence) and a destination address (lblc/lblcr localities) */
  client: string;
  daddr: string;
}

export interface Server {
  weight: number;
}

/** n connections: Poisson arrivals (mean gap gapMs), 70% short (50-500 ms), 25% medium (2-20 s), 5% long (60-300 s). */
export function workload(seed: number, n = 1000, gapMs = 100): Conn[] {
  const r = prng(seed);
  const out: Conn[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += Math.round(-Math.log(1 - r()) * gapMs);
    const k = r();
    const dur = k < 0.7 ? 50 + r() * 450 : k < 0.95 ? 2000 + r() * 18_000 : 60_000 + r() * 240_000;
    out.push({ start: t, end: t + Math.round(dur), client: `10.0.${Math.floor(r() * 4)}.${Math.floor(r() * 50)}`, daddr: `192.0.2.${Math.floor(r() * 8)}` });
  }
  return out;
}

interface Ev {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of events by (time, insertion order). */
class EventQueue {
  private readonly h: Ev[] = [];
  private seq = 0;
  private less(a: Ev, b: Ev): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  get size(): number {
    return this.h.length;
  }
  peek(): Ev | undefined {
    return this.h[0];
  }
  push(at: number, run: () => void): void {
    const h = this.h;
    h.push({ at, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Ev | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Drive a scheduler through the workload: at each arrival, every end (established -> inactive) and
 * TIME_WAIT expiry (entry gone) due by then happens first; connections establish at once. Returns the
 * index of the chosen server per connection (-1: none available).
 */
export function runScheduler(name: string, servers: Server[], conns: Conn[], persistenceMs?: number): number[] {
  let now = 0;
  const dests: SchedDest[] = servers.map((s, i) => ({ id: `s${i}`, weight: s.weight, active: 0, inactive: 0 }));
  const sched = createScheduler(name, [], { now: () => now });
  const persist = persistenceMs ? new PersistenceTable(persistenceMs, 32, () => now) : undefined;
  const events = new EventQueue();
  const picks: number[] = [];
  for (const c of conns) {
    while (events.size && events.peek()!.at <= c.start) {
      const e = events.pop()!;
      now = e.at;
      e.run();
    }
    now = c.start;
    const tmpl = persist?.lookup(c.client);
    const d = (tmpl !== undefined ? dests.find((x) => x.id === tmpl) : undefined) ?? sched.pick(dests, { address: c.client, port: 1, serviceAddress: c.daddr });
    if (!d) {
      picks.push(-1);
      continue;
    }
    bindConn(d);
    markEstablished(d);
    persist?.open(c.client, d.id);
    events.push(c.end, () => {
      markNotEstablished(d);
      events.push(c.end + TIME_WAIT, () => {
        unbindConn(d, false);
        persist?.close(c.client, d.id);
      });
    });
    picks.push(dests.indexOf(d));
  }
  return picks;
}

export function tally(picks: number[], n: number): number[] {
  const t = new Array(n).fill(0) as number[];
  for (const p of picks) if (p >= 0) t[p]!++;
  return t;
}

/** Time-averaged active connections per server over the workload (how loaded each one really was). */
export function meanActive(picks: number[], conns: Conn[], n: number): number[] {
  const span = conns.at(-1)!.start;
  const busy = new Array(n).fill(0) as number[];
  conns.forEach((c, i) => {
    if (picks[i]! >= 0) busy[picks[i]!]! += Math.min(c.end, span) - Math.min(c.start, span);
  });
  return busy.map((b) => Math.round((b / span) * 100) / 100);
}
