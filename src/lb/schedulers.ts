// Pure IPVS-like schedulers for the userspace proxy (no I/O; the clock is injected). A scheduler picks a
// destination for a new connection from the destinations with their IPVS connection counters.
//
// Counters as IPVS keeps them: `active` = connections in ESTABLISHED, `inactive` = every other
// connection entry (connecting, half closed, TIME_WAIT/CLOSE lingering, and every UDP session), and the
// IPVS overload flag (set when active + inactive reaches uthreshold, cleared below lthreshold or, without
// one, below 3/4 of uthreshold). The proxy keeps them with bindConn/markEstablished/markNotEstablished/unbindConn.
//
//   rr    round robin over destinations with weight > 0
//   wrr   smooth weighted round robin (proportional to weight, interleaved)
//   lc    least overhead, overhead = active * 256 + inactive (weights only exclude weight 0)
//   wlc   least overhead / weight (first such destination on ties)
//   sed   shortest expected delay: (active + 1) / weight
//   nq    never queue: the first destination with no active connection, else sed
//   sh    source hashing as ip_vs_sh.c: client address (and port with sh-port) -> one of 256 buckets filled by
//         weight in the kernel's list order; an unavailable server (weight 0, overloaded): none, or with
//         sh-fallback the kernel's walk to another bucket (src/lb/ipvs-hash.ts)
//   mh    Maglev hashing as ip_vs_mh.c (4093 entries, SipHash-1-3 with the kernel's fixed keys; mh-port, mh-fallback)
//   dh    destination hashing as ip_vs_dh.c: the service address -> one of 256 buckets (one per server, cyclic)
//   lblc  locality-based least connection: destination address -> server, kept until that server is
//         unavailable or overloaded (active > weight while another has active * 2 < weight), then wlc;
//         entries unused for lblcExpirationMs (IPVS: 24 h) are forgotten
//   lblcr the same with a server set per destination address: the set's least loaded member, a wlc pick
//         added when it is overloaded; the most loaded member is dropped when the set has not changed
//         for lblcExpirationMs
//   fo    weighted failover: the highest weight
//   ovf   the highest weight destination whose active connections do not exceed its weight, else none
// Destinations with weight 0 and overloaded ones are never chosen for a new scheduling decision.
import { parseIP } from '../util/inet.js';
import { dhPick, dhTable, type MhDest, mhPick, mhTable, shPick, shTable } from './ipvs-hash.js';

export interface SchedDest {
  readonly id: string;
  weight: number;
  /** IPVS activeconns: TCP connections established both ways */
  active: number;
  /** IPVS inactconns: other connection entries (TCP not established or lingering, UDP sessions) */
  inactive?: number;
  uthreshold?: number;
  lthreshold?: number;
  /** IPVS IP_VS_DEST_F_OVERLOAD as kept by bindConn/unbindConn; absent = active + inactive >= uthreshold */
  overloaded?: boolean;
  /** mh: the real server's address and port (hashed for its permutation; default: parsed from a destinationId) */
  address?: string;
  port?: number;
  /** mh: IPVS last_weight, the latest non-zero weight (default: weight) */
  lastWeight?: number;
}

export interface SchedClient {
  address: string;
  port: number;
  /** the service address (dh) */
  serviceAddress: string;
}

export interface Scheduler {
  readonly name: string;
  /** sh/dh/mh: pick() wants the destinations in the kernel's list order (newest first), as IPVS builds its tables from it */
  readonly kernelOrder?: boolean;
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined;
}

export interface SchedulerOptions {
  now?: () => number;
  /** lblc/lblcr entry expiration (IPVS sysctl lblc_expiration / lblcr_expiration, default 24 h) */
  lblcExpirationMs?: number;
}

export const USERSPACE_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'mh', 'dh', 'lblc', 'lblcr', 'fo', 'ovf'] as const;

export const LBLC_DEFAULT_EXPIRATION_MS = 24 * 3600 * 1000;

const inact = (d: SchedDest) => d.inactive ?? 0;

/** IPVS's overhead of a destination for lc/wlc/lblc/lblcr: active connections weigh 256 inactive ones. */
export function connOverhead(d: SchedDest): number {
  return d.active * 256 + inact(d);
}

export function isOverloaded(d: SchedDest): boolean {
  if (d.overloaded !== undefined) return d.overloaded;
  return !!d.uthreshold && d.active + inact(d) >= d.uthreshold;
}

export function available(d: SchedDest): boolean {
  return d.weight > 0 && !isOverloaded(d);
}

/** A new connection entry to d (IPVS: every entry starts inactive); sets the overload flag at uthreshold. */
export function bindConn(d: SchedDest): void {
  d.inactive = inact(d) + 1;
  if (d.uthreshold && d.active + d.inactive >= d.uthreshold) d.overloaded = true;
}

/** The connection reached ESTABLISHED: inactive -> active. */
export function markEstablished(d: SchedDest): void {
  d.inactive = Math.max(0, inact(d) - 1);
  d.active++;
}

/** The connection left ESTABLISHED (FIN, RST): active -> inactive. */
export function markNotEstablished(d: SchedDest): void {
  d.active = Math.max(0, d.active - 1);
  d.inactive = inact(d) + 1;
}

/** The connection entry went away (wasActive: it was still counted active); clears the overload flag as IPVS does. */
export function unbindConn(d: SchedDest, wasActive: boolean): void {
  if (wasActive) d.active = Math.max(0, d.active - 1);
  else d.inactive = Math.max(0, inact(d) - 1);
  const total = d.active + inact(d);
  if (d.lthreshold) {
    if (total < d.lthreshold) d.overloaded = false;
  } else if (d.uthreshold) {
    if (total * 4 < d.uthreshold * 3) d.overloaded = false;
  } else d.overloaded = false;
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

/**
 * The least-loaded available destination by load = overhead / weight, compared as IPVS does without
 * division (a later destination replaces the current one only when strictly less loaded: ties keep the first).
 * With weighted=false (lc) weights only exclude weight 0.
 */
function leastLoaded(dests: Iterable<SchedDest>, overhead: (d: SchedDest) => number, weighted: boolean): SchedDest | undefined {
  let least: SchedDest | undefined;
  let loh = 0;
  for (const d of dests) {
    if (!available(d)) continue;
    const doh = overhead(d);
    if (!least || (weighted ? loh * d.weight > doh * least.weight : doh < loh)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

class LeastCost implements Scheduler {
  constructor(
    readonly name: string,
    private readonly overhead: (d: SchedDest) => number,
    private readonly weighted: boolean,
  ) {}
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    return leastLoaded(dests, this.overhead, this.weighted);
  }
}

const sedOverhead = (d: SchedDest) => d.active + 1;

class NeverQueue implements Scheduler {
  readonly name = 'nq';
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    return dests.find((d) => available(d) && d.active === 0) ?? leastLoaded(dests, sedOverhead, true);
  }
}

type HashKind = 'sh' | 'dh' | 'mh';

/**
 * sh / dh / mh with IPVS's tables (src/lb/ipvs-hash.ts): `dests` is taken as the kernel's destination list
 * (newest first; the userspace proxy keeps that order, see ServiceProxy). The table is rebuilt when the
 * list, a weight (sh) or a last weight (mh) changes, as the kernel does on add/del/update. A client whose
 * server is unavailable (weight 0, overloaded) gets none, or with sh-fallback / mh-fallback the kernel's
 * walk from its bucket; dh has no fallback.
 */
class IpvsHashing implements Scheduler {
  readonly kernelOrder = true;
  private tableKey = '';
  private table: Int16Array = new Int16Array(0);
  constructor(
    readonly name: string,
    private readonly kind: HashKind,
    private readonly withPort: boolean,
    private readonly fallback: boolean,
  ) {}
  private tableFor(dests: readonly SchedDest[]): Int16Array {
    const k = this.kind === 'dh' ? dests.map((d) => d.id).join(',') : dests.map((d) => `${d.id}=${this.kind === 'mh' ? lastWeightOf(d) : d.weight}`).join(',');
    if (k !== this.tableKey || !this.table.length) {
      this.tableKey = k;
      if (this.kind === 'sh') this.table = shTable(dests);
      else if (this.kind === 'dh') this.table = dhTable(dests.length);
      else this.table = mhTable(dests.map(mhDest));
    }
    return this.table;
  }
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    const view = dests.map((d) => ({ weight: d.weight, overloaded: isOverloaded(d) }));
    const table = this.tableFor(dests);
    const port = this.withPort ? client.port : 0;
    let i: number;
    if (this.kind === 'sh') i = shPick(table, view, client.address, port, this.fallback);
    else if (this.kind === 'mh') i = mhPick(table, view, client.address, port, this.fallback);
    else i = dhPick(table, view, client.serviceAddress);
    return i < 0 ? undefined : dests[i];
  }
}

const lastWeightOf = (d: SchedDest) => d.lastWeight ?? d.weight;

/** The address and port mh hashes for a destination: its own, or those of a `family/address/port` id. */
function mhDest(d: SchedDest): MhDest {
  let address = d.address;
  let port = d.port;
  if (address === undefined) {
    const m = /^[46]\/(.+)\/(\d+)$/.exec(d.id);
    address = m ? m[1]! : '0.0.0.0';
    port = port ?? (m ? Number(m[2]) : 0);
  }
  return { address, port: port ?? 0, weight: d.weight, lastWeight: lastWeightOf(d) };
}

/** IPVS lblc/lblcr: a locality's server is overloaded when active > weight while another server has active * 2 < weight. */
function localityOverloaded(d: SchedDest, dests: readonly SchedDest[]): boolean {
  return d.active > d.weight && dests.some((o) => o.active * 2 < o.weight);
}

const wlcPick = (dests: Iterable<SchedDest>) => leastLoaded(dests, connOverhead, true);

/** lblc: destination address -> one server (IPVS ip_vs_lblc.c behaviour). */
class LocalityBased implements Scheduler {
  readonly name = 'lblc';
  private readonly table = new Map<string, { destId: string; lastUse: number }>();
  constructor(
    private readonly now: () => number,
    private readonly expirationMs: number,
  ) {}
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    const key = client.serviceAddress;
    const t = this.now();
    const en = this.table.get(key);
    if (en && en.lastUse + this.expirationMs > t) {
      en.lastUse = t;
      const d = dests.find((x) => x.id === en.destId);
      if (d && d.weight > 0 && !localityOverloaded(d, dests)) return d;
    }
    const d = wlcPick(dests);
    if (!d) return undefined;
    this.table.set(key, { destId: d.id, lastUse: t });
    return d;
  }
  /** (tests) the server remembered for a destination address */
  entry(address: string): string | undefined {
    return this.table.get(address)?.destId;
  }
}

/** lblcr: destination address -> a server set (IPVS ip_vs_lblcr.c behaviour; members newest first). */
class LocalityBasedReplicated implements Scheduler {
  readonly name = 'lblcr';
  private readonly table = new Map<string, { set: string[]; lastMod: number; lastUse: number }>();
  constructor(
    private readonly now: () => number,
    private readonly expirationMs: number,
  ) {}
  pick(dests: readonly SchedDest[], client: SchedClient): SchedDest | undefined {
    const key = client.serviceAddress;
    const t = this.now();
    const byId = new Map(dests.map((d) => [d.id, d]));
    let en = this.table.get(key);
    if (en && en.lastUse + this.expirationMs <= t) {
      this.table.delete(key);
      en = undefined;
    }
    if (!en) {
      const d = wlcPick(dests);
      if (d) this.table.set(key, { set: [d.id], lastMod: t, lastUse: t });
      return d;
    }
    en.lastUse = t;
    en.set = en.set.filter((id) => byId.has(id));
    const members = en.set.map((id) => byId.get(id)!);
    const least = wlcPick(members);
    if (en.set.length > 1 && t > en.lastMod + this.expirationMs) {
      const most = mostLoaded(members);
      if (most) {
        en.set = en.set.filter((id) => id !== most.id);
        en.lastMod = t;
      }
    }
    if (least && !localityOverloaded(least, dests)) return least;
    const d = wlcPick(dests);
    if (!d) return undefined;
    if (!en.set.includes(d.id)) {
      en.set.unshift(d.id);
      en.lastMod = t;
    }
    return d;
  }
  /** (tests) the server set of a destination address, newest first */
  entry(address: string): string[] | undefined {
    return this.table.get(address)?.set.slice();
  }
}

/** The member with the highest overhead / weight among weight > 0 (the first on ties). */
function mostLoaded(members: readonly SchedDest[]): SchedDest | undefined {
  let most: SchedDest | undefined;
  let moh = 0;
  for (const d of members) {
    if (d.weight <= 0) continue;
    const doh = connOverhead(d);
    if (!most || moh * d.weight < doh * most.weight) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

/** fo: the highest weight available destination; ovf: the same among those with active <= weight, else none. */
class Failover implements Scheduler {
  constructor(
    readonly name: string,
    private readonly overflow: boolean,
  ) {}
  pick(dests: readonly SchedDest[]): SchedDest | undefined {
    let best: SchedDest | undefined;
    for (const d of dests) {
      if (!available(d) || (this.overflow && d.active > d.weight)) continue;
      if (!best || d.weight > best.weight) best = d;
    }
    return best;
  }
}

/** A fresh scheduler instance (schedulers keep per-service state such as the rr position or lblc table). */
export function createScheduler(name: string, flags: readonly string[] = [], opts: SchedulerOptions = {}): Scheduler {
  const withPort = flags.includes('sh-port') || flags.includes('mh-port') || flags.includes('flag-2');
  const fallback = flags.includes('sh-fallback') || flags.includes('mh-fallback') || flags.includes('flag-1');
  const now = opts.now ?? Date.now;
  const expiration = opts.lblcExpirationMs ?? LBLC_DEFAULT_EXPIRATION_MS;
  switch (name) {
    case 'rr':
      return new RoundRobin();
    case 'wrr':
      return new WeightedRoundRobin();
    case 'lc':
      return new LeastCost('lc', connOverhead, false);
    case 'wlc':
      return new LeastCost('wlc', connOverhead, true);
    case 'sed':
      return new LeastCost('sed', sedOverhead, true);
    case 'nq':
      return new NeverQueue();
    case 'sh':
    case 'mh':
      return new IpvsHashing(name, name, withPort, fallback);
    case 'dh':
      return new IpvsHashing('dh', 'dh', false, false);
    case 'lblc':
      return new LocalityBased(now, expiration);
    case 'lblcr':
      return new LocalityBasedReplicated(now, expiration);
    case 'fo':
      return new Failover('fo', false);
    case 'ovf':
      return new Failover('ovf', true);
    default:
      throw new Error(`unknown scheduler "${name}" (userspace supports ${USERSPACE_SCHEDULERS.join(', ')})`);
  }
}

interface Template {
  destId: string;
  /** when the template's timer was last (re)started: at creation and each new connection through it */
  armedAt: number;
  /** connection entries it controls (IPVS n_control), including lingering closed ones */
  refs: number;
  /** when refs last dropped to 0 */
  idleSince: number;
}

/**
 * Persistence templates as IPVS keeps them: a client network (address masked by the persistence
 * granularity) -> destination. The template's timer (persistence_timeout) restarts with each new
 * connection through it; when it fires while connections it controls still exist it restarts again, so
 * a template expires at the first firing after its last connection entry went away. The clock is injectable.
 */
export class PersistenceTable {
  private readonly entries = new Map<string, Template>();
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

  /** When an idle template expires: its timer's first firing at or after idleSince. */
  private expiry(e: Template): number {
    const periods = Math.max(1, Math.ceil((e.idleSince - e.armedAt) / this.timeoutMs));
    return e.armedAt + periods * this.timeoutMs;
  }

  lookup(address: string): string | undefined {
    const k = this.key(address);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.refs === 0 && this.expiry(e) <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return e.destId;
  }

  /** Forget the client's template (its destination went away or may not be used). */
  drop(address: string): void {
    this.entries.delete(this.key(address));
  }

  /** A connection entry of this client to destId was created. */
  open(address: string, destId: string): void {
    const k = this.key(address);
    const t = this.now();
    const e = this.entries.get(k);
    if (e && e.destId === destId && (e.refs > 0 || this.expiry(e) > t)) {
      e.refs++;
      e.armedAt = t;
    } else this.entries.set(k, { destId, armedAt: t, refs: 1, idleSince: t });
  }

  /** A connection entry of this client went away (after its TIME_WAIT/CLOSE linger). */
  close(address: string, destId: string): void {
    const e = this.entries.get(this.key(address));
    if (!e || e.destId !== destId || e.refs === 0) return;
    e.refs--;
    if (e.refs === 0) e.idleSince = this.now();
  }

  /** Templates not yet expired. */
  size(): number {
    for (const [k, e] of this.entries) if (e.refs === 0 && this.expiry(e) <= this.now()) this.entries.delete(k);
    return this.entries.size;
  }
}
