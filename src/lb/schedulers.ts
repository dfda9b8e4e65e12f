// Pure IPVS-like schedulers for the userspace proxy. A scheduler picks a destination for a new
// connection from the live destinations (with their current connection counts).
//
//   rr    round robin over destinations with weight > 0
//   wrr   smooth weighted round robin (proportional to weight, interleaved)
//   lc    least active connections
//   wlc   least active connections / weight
//   sed   shortest expected delay: (active + 1) / weight
//   nq    never queue: an idle destination if any, else sed
//   sh    source hashing: client address (and port with sh-port) over 256 weighted rendezvous slots
//   mh    approximated by sh (same flags)
//   dh    destination hashing: the service address over the table (one destination per VIP)
//   lblc, lblcr  dh while the chosen destination has fewer active connections than twice its weight, else wlc
//   fo    weighted failover: the highest weight
//   ovf   the highest weight destination whose active connections are below its weight, else fo
// Destinations with weight 0 and overloaded ones (active >= uthreshold > 0) are never chosen.
import { createHash } from 'node:crypto';
import { parseIP } from '../util/inet.js';
import { HASH_SLOTS, rendezvousSlots } from './weights.js';

export interface SchedDest {
  readonly id: string;
  weight: number;
  /** connections (TCP) or sessions (UDP) currently open */
  active: number;
  uthreshold?: number;
}

export interface SchedClient {
  address: string;
  port: number;
  /** the service address (dh) */
  serviceAddress: string;
}

export interface Scheduler {
  readonly name: string;
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined;
}

export const USERSPACE_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'mh', 'dh', 'lblc', 'lblcr', 'fo', 'ovf'] as const;

export function available(d: SchedDest): boolean {
  return d.weight > 0 && !(d.uthreshold && d.active >= d.uthreshold);
}

function hash32(parts: (Buffer | string)[]): number {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest().readUInt32BE(0);
}

class RoundRobin implements Scheduler {
  readonly name = 'rr';
  private next = 0;
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    for (let i = 0; i < dests.length; i++) {
      const d = dests[(this.next + i) % dests.length]!;
      if (available(d)) {
        this.next = (this.next + i + 1) % dests.length;
        return d;
      }
    }
    return undefined;
  }
}

class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';
  private readonly current = new Map<string, number>();
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    const live = dests.filter(available);
    if (!live.length) return undefined;
    const total = live.reduce((a, d) => a + d.weight, 0);
    let best: SchedDest | undefined;
    let bestVal = -Infinity;
    for (const d of live) {
      const v = (this.current.get(d.id) ?? 0) + d.weight;
      this.current.set(d.id, v);
      if (v > bestVal) {
        best = d;
        bestVal = v;
      }
    }
    this.current.set(best!.id, bestVal - total);
    return best;
  }
}

/** Least-cost choice; ties go to the first destination. cost(a) * weight(b) style comparisons avoid division. */
class LeastCost implements Scheduler {
  constructor(
    readonly name: string,
    private readonly cost: (d: SchedDest) => number,
  ) {}
  pick(dests: readonly SchedDest[], _client?: SchedClient): SchedDest | undefined {
    let best: SchedDest | undefined;
    let bestCost = Infinity;
    for (const d of dests) {
      if (!available(d)) continue;
      const c = this.cost(d);
      if (c < bestCost) {
        best = d;
        bestCost = c;
      }
    }
    return best;
  }
}

const lcCost = (d: SchedDest) => d.active;
const wlcCost = (d: SchedDest) => d.active / d.weight;
const sedCost = (d: SchedDest) => (d.active + 1) / d.weight;

class NeverQueue implements Scheduler {
  readonly name = 'nq';
  private readonly sed = new LeastCost('sed', sedCost);
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    return dests.find((d) => available(d) && d.active === 0) ?? this.sed.pick(dests, client);
  }
}

/**
 * Hashing over 256 slots shared out by weighted rendezvous hashing among the available destinations
 * (a destination going away only moves its own clients). The table is rebuilt when the set changes.
 */
class Hashing implements Scheduler {
  private tableKey = '';
  private table: number[] = [];
  constructor(
    readonly name: string,
    private readonly key: (c: SchedClient) => (Buffer | string)[],
  ) {}
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    const live = dests.filter(available);
    if (!live.length) return undefined;
    const k = live.map((d) => `${d.id}:${d.weight}`).join(',');
    if (k !== this.tableKey) {
      this.table = rendezvousSlots(live, HASH_SLOTS);
      this.tableKey = k;
    }
    return live[this.table[hash32(this.key(client)) % HASH_SLOTS]!];
  }
}

class LocalityBased implements Scheduler {
  private readonly dh = new Hashing('dh', (c) => [parseIP(c.serviceAddress)]);
  private readonly wlc = new LeastCost('wlc', wlcCost);
  constructor(readonly name: string) {}
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    const d = this.dh.pick(dests, client);
    if (d && d.active < 2 * d.weight) return d;
    return this.wlc.pick(dests, client);
  }
}

class Failover implements Scheduler {
  constructor(
    readonly name: string,
    private readonly overflow: boolean,
  ) {}
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    const live = dests.filter(available);
    const byWeight = (list: SchedDest[]) => list.reduce<SchedDest | undefined>((b, d) => (!b || d.weight > b.weight ? d : b), undefined);
    if (this.overflow) {
      const notFull = byWeight(live.filter((d) => d.active < d.weight));
      if (notFull) return notFull;
    }
    return byWeight(live);
  }
}

/** A fresh scheduler instance (schedulers keep per-service state such as the rr position). */
export function createScheduler(name: string, flags: readonly string[] = []): Scheduler {
  const withPort = flags.includes('sh-port') || flags.includes('mh-port') || flags.includes('flag-2');
  const srcKey = (c: SchedClient) => (withPort ? [parseIP(c.address), String(c.port)] : [parseIP(c.address)]);
  switch (name) {
    case 'rr':
      return new RoundRobin();
    case 'wrr':
      return new WeightedRoundRobin();
    case 'lc':
      return new LeastCost('lc', lcCost);
    case 'wlc':
      return new LeastCost('wlc', wlcCost);
    case 'sed':
      return new LeastCost('sed', sedCost);
    case 'nq':
      return new NeverQueue();
    case 'sh':
    case 'mh':
      return new Hashing(name, srcKey);
    case 'dh':
      return new Hashing('dh', (c) => [parseIP(c.serviceAddress)]);
    case 'lblc':
    case 'lblcr':
      return new LocalityBased(name);
    case 'fo':
      return new Failover('fo', false);
    case 'ovf':
      return new Failover('ovf', true);
    default:
      throw new Error(`unknown scheduler "${name}" (userspace supports ${USERSPACE_SCHEDULERS.join(', ')})`);
  }
}

/**
 * Persistence templates: a client network (address masked) sticks to its destination for `timeoutMs`
 * after its last connection, like IPVS persistent services. The clock is injectable.
 */
export class PersistenceTable {
  private readonly entries = new Map<string, { destId: string; expires: number; refs: number }>();
  constructor(
    private readonly timeoutMs: number,
    private readonly maskBits: number,
    private readonly now: () => number = Date.now,
  ) {}

  private key(address: string): string {
    const b = parseIP(address);
    for (let i = 0; i < b.length * 8; i++) if (i >= this.maskBits) b[i >> 3]! &= ~(0x80 >> (i & 7));
    return b.toString('hex');
  }

  lookup(address: string): string | undefined {
    const k = this.key(address);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.refs === 0 && e.expires <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return e.destId;
  }

  /** A connection of this client to destId opened. */
  open(address: string, destId: string): void {
    const k = this.key(address);
    const e = this.entries.get(k);
    if (e && e.destId === destId) {
      e.refs++;
      e.expires = this.now() + this.timeoutMs;
    } else this.entries.set(k, { destId, expires: this.now() + this.timeoutMs, refs: 1 });
  }

  /** A connection of this client closed: the template lives on for the timeout. */
  close(address: string, destId: string): void {
    const e = this.entries.get(this.key(address));
    if (!e || e.destId !== destId) return;
    e.refs = Math.max(0, e.refs - 1);
    e.expires = this.now() + this.timeoutMs;
  }

  size(): number {
    return this.entries.size;
  }
}
