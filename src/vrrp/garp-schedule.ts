// One instance's gratuitous ARP / unsolicited NA schedule, timed by the injected Clock: the new
// MASTER's burst (garp_master_repeat) and its second burst after garp_master_delay, the periodic
// garp_master_refresh, the bursts after a lower-priority advert (garp_lower_prio_repeat / _delay),
// each round spaced by vrrp_garp_interval (IPv4) / vrrp_gna_interval (IPv6).
import type { Logger } from 'pino';
import type { VirtualAddress, VrrpInstance } from '../config/model.js';
import type { Clock } from '../util/clock.js';
import type { VrrpNetIo } from './io.js';

/** The settings the schedule reads when a schedule starts. */
type GarpInstanceSettings =
  | 'garpMasterRepeat'
  | 'garpMasterDelay'
  | 'garpMasterRefresh'
  | 'garpMasterRefreshRepeat'
  | 'garpLowerPrioRepeat'
  | 'garpLowerPrioDelay'
  | 'advertInt';

export interface GarpSettings extends Pick<VrrpInstance, GarpInstanceSettings> {
  /** global vrrp_garp_interval: ms between two GARPs of a burst, 0 = back to back */
  garpIntervalMs: number;
  /** global vrrp_gna_interval: ms between two unsolicited NAs of a burst, 0 = back to back */
  gnaIntervalMs: number;
}

/** What the schedule needs from its instance. */
export interface GarpTarget {
  settings(): GarpSettings;
  /** every address of the instance (virtual_ipaddress and virtual_ipaddress_excluded), as now */
  addresses(): VirtualAddress[];
  /** the interface an address's GARP / NA leaves from */
  devFor(v: VirtualAddress): string;
  /** GARPs go out only while MASTER: checked as each one is sent */
  isMaster(): boolean;
  /** the interface named in the log line */
  logInterface(): string;
}

/** at most one log line a minute about GARPs sent after lower-priority adverts */
const LOWER_PRIO_LOG_EVERY_MS = 60_000;
/** how long a new MASTER's first burst waits for its addresses to be in place */
const FIRST_BURST_MAX_WAIT_MS = 1000;

export class GarpSchedule {
  private readonly timers = new Set<unknown>();
  /** back-to-back sends, one per event-loop turn */
  private readonly queue: (() => void)[] = [];
  private pump: unknown;
  /** lower-priority bursts: when the last one went out, and what the next log line reports */
  private readonly lowerPrio: { lastBurstAt?: number; loggedAt?: number; bursts: number; coalesced: number } = { bursts: 0, coalesced: 0 };
  /** bumped by cancel(): a first burst still waiting for its addresses is then dropped */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly io: Pick<VrrpNetIo, 'sendGratuitousArp' | 'sendUnsolicitedNa'>,
    private readonly target: GarpTarget,
    private readonly log: Logger,
  ) {}

  /** timers and queued sends not yet run */
  get pending(): number {
    return this.timers.size + this.queue.length;
  }

  /**
   * The instance became MASTER: the first burst, the delayed second one and the refresh. The
   * addresses are added asynchronously: the first burst waits until `addressesInPlace` settles (as
   * keepalived, which adds them before it sends; sent earlier, under load a GARP reached the
   * neighbours tens of ms before the address existed here, and their traffic was dropped), at most
   * FIRST_BURST_MAX_WAIT_MS (a stuck installation must not silence the GARPs). Without it, the
   * first burst goes out after the current event-loop turn.
   */
  startMaster(addressesInPlace?: Promise<void>): void {
    this.cancel();
    const s = this.target.settings();
    const repeat = Math.max(1, s.garpMasterRepeat);
    if (!addressesInPlace) this.later(() => this.burst(repeat), 0, true);
    else {
      const generation = this.generation;
      const bound = new Promise<void>((resolve) => this.later(resolve, FIRST_BURST_MAX_WAIT_MS));
      void Promise.race([addressesInPlace, bound]).then(() => {
        if (generation === this.generation) this.later(() => this.burst(repeat), 0, true);
      });
    }
    if (s.garpMasterDelay > 0) this.later(() => this.burst(repeat), s.garpMasterDelay);
    if (s.garpMasterRefresh > 0) {
      const refresh = () => {
        if (!this.target.isMaster()) return;
        this.burst(Math.max(1, s.garpMasterRefreshRepeat));
        this.later(refresh, s.garpMasterRefresh);
      };
      this.later(refresh, s.garpMasterRefresh);
    }
  }

  /**
   * As keepalived: a lower-priority advert reached the MASTER (e.g. the peer took over while this
   * node was frozen or cut off), so the neighbours may have the peer's MAC for the VIPs. Send
   * garp_lower_prio_repeat rounds now and again after garp_lower_prio_delay (defaults: the
   * garp_master_* values); without it clients keep sending to the peer, which dropped the VIPs.
   */
  afterLowerPriorityAdvert(): void {
    const s = this.target.settings();
    const repeat = s.garpLowerPrioRepeat ?? s.garpMasterRepeat;
    if (repeat <= 0) return;
    // A peer that believes itself MASTER sends one advert per interval; lower-priority adverts
    // coming faster than ours (a flood, replays) share one burst per advert interval, and the log
    // says so at most once a minute, so that they cannot turn into a GARP or log flood.
    const now = this.clock.now();
    if (this.lowerPrio.lastBurstAt !== undefined && now - this.lowerPrio.lastBurstAt < s.advertInt) {
      this.lowerPrio.coalesced++;
      return;
    }
    this.lowerPrio.lastBurstAt = now;
    this.lowerPrio.bursts++;
    const logNow = this.lowerPrio.loggedAt === undefined || now - this.lowerPrio.loggedAt >= LOWER_PRIO_LOG_EVERY_MS;
    if (logNow) {
      this.log.info(
        `lower-priority advert received as MASTER: GARPs / unsolicited NAs again (${this.lowerPrio.bursts} burst(s), ` +
          `${this.lowerPrio.coalesced} advert(s) within an interval of the previous burst, since the last such line)`,
      );
      this.lowerPrio.loggedAt = now;
      this.lowerPrio.bursts = 0;
      this.lowerPrio.coalesced = 0;
    }
    this.burst(repeat, undefined, false);
    const delay = s.garpLowerPrioDelay ?? s.garpMasterDelay;
    if (delay > 0) this.later(() => this.burst(repeat, undefined, false), delay);
  }

  /** Send `repeat` rounds of GARP / unsolicited NA for every address (or those given), spaced by vrrp_garp_interval / vrrp_gna_interval. */
  burst(repeat: number, addrs = this.target.addresses(), logIt = true): void {
    const s = this.target.settings();
    const v4 = addrs.filter((a) => a.prefix.family === 4);
    const v6 = addrs.filter((a) => a.prefix.family === 6);
    const schedule = (list: VirtualAddress[], gapMs: number) => {
      let k = 0;
      for (let i = 0; i < repeat; i++)
        for (const v of list) {
          if (gapMs > 0 && k > 0) this.later(() => this.send(v), gapMs * k);
          else this.enqueue(() => this.send(v));
          k++;
        }
    };
    if (v4.length) {
      if (logIt) this.log.info(`Sending/queueing gratuitous ARPs on ${this.target.logInterface()} for ${v4.map((v) => v.prefix.address).join(', ')}`);
      schedule(v4, s.garpIntervalMs);
    }
    if (v6.length) {
      if (logIt)
        this.log.info(`Sending/queueing Unsolicited Neighbour Adverts on ${this.target.logInterface()} for ${v6.map((v) => v.prefix.address).join(', ')}`);
      schedule(v6, s.gnaIntervalMs);
    }
  }

  /** Leaving MASTER or stopping: nothing scheduled is sent. */
  cancel(): void {
    this.generation++;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    if (this.pump !== undefined) this.clock.clearTimeout(this.pump);
    this.pump = undefined;
  }

  private send(v: VirtualAddress): void {
    if (!this.target.isMaster()) return;
    const dev = this.target.devFor(v);
    try {
      if (v.prefix.family === 4) this.io.sendGratuitousArp(dev, v.prefix.address);
      else this.io.sendUnsolicitedNa(dev, v.prefix.address);
    } catch (e) {
      this.log.warn({ err: e }, 'GARP failed');
    }
  }

  private later(fn: () => void, ms: number, immediate = false): void {
    const run = () => {
      this.timers.delete(t);
      fn();
    };
    const t: unknown = immediate ? this.clock.setImmediate(run) : this.clock.setTimeout(run, ms);
    this.timers.add(t);
  }

  /**
   * Back-to-back GARPs go out one per event-loop turn, so that a burst for many addresses and
   * instances never delays an advertisement timer.
   */
  private enqueue(job: () => void): void {
    this.queue.push(job);
    if (this.queue.length > 1) return;
    const pump = () => {
      this.pump = undefined;
      const next = this.queue.shift();
      if (!next) return;
      next();
      if (this.queue.length) this.pump = this.clock.setImmediate(pump);
    };
    this.pump = this.clock.setImmediate(pump);
  }
}
