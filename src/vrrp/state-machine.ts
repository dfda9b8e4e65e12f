// The VRRP state machine of one instance (RFC 3768 / RFC 5798 section 6.4, with keepalived's choices).
// Pure: driven by events, time and timers come from an injected Clock, effects are emitted as actions.
import type { Clock } from '../util/clock.js';
import { compareIp } from '../util/inet.js';

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
/** the states a transition enters (INIT is only where an instance starts) */
export type EnteredState = Exclude<VrrpStateName, 'INIT'>;

export const PRIORITY_OWNER = 255;
export const PRIORITY_STOP = 0;

export interface MachineConfig {
  name: string;
  version: 2 | 3;
  /** our advertisement interval, ms */
  advertIntMs: number;
  /** priority at start (effective priority, tracking applied) */
  priority: number;
  /** our primary address on the interface (source of our adverts), for the equal-priority tie-break */
  primaryAddress: string;
  nopreempt: boolean;
  preemptDelayMs: number;
  /** keepalived vrrp_lower_prio_no_advert: a master does not answer a lower-priority advert */
  lowerPrioNoAdvert: boolean;
  /** keepalived vrrp_higher_prio_send_advert: a master sends one advert before yielding */
  higherPrioSendAdvert: boolean;
}

export type TransitionReason = 'start' | 'owner' | 'master-down-timer' | 'higher-priority-advert' | 'fault' | 'fault-cleared' | 'shutdown' | 'sync-group';

export type MachineAction =
  | { type: 'send-advert'; priority: number }
  | { type: 'add-vips' }
  | { type: 'remove-vips' }
  /** start the gratuitous ARP / unsolicited NA schedule for the new master */
  | { type: 'garp' }
  /**
   * a MASTER heard a lower-priority advert: another router believed itself master (it may have
   * announced the VIPs with its own MAC), so refresh the neighbours' ARP / ND caches
   * (keepalived's garp_lower_prio_repeat / garp_lower_prio_delay)
   */
  | { type: 'garp-lower-prio' }
  | { type: 'transition'; from: VrrpStateName; to: EnteredState; reason: TransitionReason; priority: number };

export type MachineEvent =
  | { type: 'start' }
  /** ageMs: how long ago the advert arrived (the master-down timer runs from its arrival) */
  | { type: 'advert'; priority: number; src: string; advertIntMs: number; ageMs?: number }
  | { type: 'priority'; priority: number }
  | { type: 'fault'; reason: string }
  | { type: 'unfault'; reason: string }
  | { type: 'group-master' }
  | { type: 'group-backup' }
  | { type: 'shutdown' };

export interface MachineStats {
  advertsSent: number;
  advertsReceived: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  becameMaster: number;
  releasedMaster: number;
}

export class VrrpStateMachine {
  private st: VrrpStateName = 'INIT';
  private prio: number;
  private masterAdverIntMs: number;
  private masterDownTimer: unknown;
  private advertTimer: unknown;
  private preemptAt: number | undefined;
  private faults = new Set<string>();
  /** the address of the current master as last seen (BACKUP) */
  masterAddress: string | undefined;
  /** the priority in the current master's last advert (BACKUP), 0 when unknown or MASTER */
  masterPriority = 0;
  /** monotonic time the master-down timer will fire, when armed */
  masterDownAt: number | undefined;
  readonly stats: MachineStats = {
    advertsSent: 0,
    advertsReceived: 0,
    priorityZeroSent: 0,
    priorityZeroReceived: 0,
    becameMaster: 0,
    releasedMaster: 0,
  };

  constructor(
    /** primaryAddress may be filled in later, when the interface gets an address */
    readonly cfg: MachineConfig,
    private readonly clock: Clock,
    private readonly emit: (a: MachineAction) => void,
  ) {
    this.prio = cfg.priority;
    this.masterAdverIntMs = cfg.advertIntMs;
  }

  get state(): VrrpStateName {
    return this.st;
  }
  get priority(): number {
    return this.prio;
  }
  get faultReasons(): string[] {
    return [...this.faults];
  }
  /** the advertisement interval of the current master (v3 learns it from the adverts) */
  get masterAdvertIntMs(): number {
    return this.masterAdverIntMs;
  }

  /** Skew_Time in ms: v2 (256 - prio)/256 s; v3 ((256 - prio) x Master_Adver_Interval)/256. */
  skewMs(): number {
    const p = Math.min(this.prio, 255);
    if (this.cfg.version === 2) return ((256 - p) * 1000) / 256;
    return ((256 - p) * this.masterAdverIntMs) / 256;
  }

  /** Master_Down_Interval in ms: 3 x (Master_)Advertisement_Interval + Skew_Time. */
  masterDownIntervalMs(): number {
    const iv = this.cfg.version === 2 ? this.cfg.advertIntMs : this.masterAdverIntMs;
    return 3 * iv + this.skewMs();
  }

  handle(ev: MachineEvent): void {
    switch (ev.type) {
      case 'start':
        if (this.st !== 'INIT' && this.st !== 'STOP') return;
        this.enterRunning('start');
        return;
      case 'advert':
        this.onAdvert(ev.priority, ev.src, ev.advertIntMs, ev.ageMs ?? 0);
        return;
      case 'priority':
        this.prio = ev.priority;
        return;
      case 'fault':
        this.faults.add(ev.reason);
        if (this.st === 'BACKUP' || this.st === 'MASTER' || this.st === 'INIT') this.enterFault();
        return;
      case 'unfault':
        this.faults.delete(ev.reason);
        if (this.st === 'FAULT' && this.faults.size === 0) this.enterRunning('fault-cleared');
        return;
      case 'group-master':
        if (this.st === 'BACKUP') this.becomeMaster('sync-group');
        return;
      case 'group-backup':
        if (this.st === 'MASTER') this.becomeBackup('sync-group');
        return;
      case 'shutdown':
        this.shutdown();
        return;
    }
  }

  private transition(to: EnteredState, reason: TransitionReason): void {
    const from = this.st;
    this.st = to;
    this.emit({ type: 'transition', from, to, reason, priority: this.prio });
  }

  /** Enter MASTER: the network actions first (advert, addresses, GARP), then the notification. */

  private enterRunning(reason: TransitionReason): void {
    if (this.faults.size > 0) {
      this.clearTimers();
      this.transition('FAULT', 'fault');
      return;
    }
    if (this.prio >= PRIORITY_OWNER) this.becomeMaster(reason === 'start' ? 'owner' : reason);
    else this.becomeBackup(reason);
  }

  private clearTimers(): void {
    if (this.masterDownTimer !== undefined) this.clock.clearTimeout(this.masterDownTimer);
    if (this.advertTimer !== undefined) this.clock.clearTimeout(this.advertTimer);
    this.masterDownTimer = undefined;
    this.advertTimer = undefined;
    this.masterDownAt = undefined;
  }

  /** ageMs: how long ago the event that (re)starts the timer happened (it runs from then) */
  private armMasterDown(ms: number, ageMs = 0): void {
    ms = Math.max(0, ms - ageMs);
    if (this.masterDownTimer !== undefined) this.clock.clearTimeout(this.masterDownTimer);
    this.masterDownAt = this.clock.now() + ms;
    this.masterDownTimer = this.clock.setPreciseTimeout(() => {
      this.masterDownTimer = undefined;
      this.masterDownAt = undefined;
      if (this.st === 'BACKUP') this.becomeMaster('master-down-timer');
    }, ms);
  }

  /**
   * Arm the advertisement timer one interval after now, as keepalived does: a late timer delays
   * the following adverts instead of being compensated by a shorter interval, so that intervals
   * seen by the backups never fall below advert_int.
   */
  private armAdvert(): void {
    if (this.advertTimer !== undefined) this.clock.clearTimeout(this.advertTimer);
    this.advertTimer = this.clock.setTimeout(() => {
      this.advertTimer = undefined;
      if (this.st !== 'MASTER') return;
      this.sendAdvert(this.prio);
      this.armAdvert();
    }, this.cfg.advertIntMs);
  }

  private sendAdvert(priority: number): void {
    this.stats.advertsSent++;
    if (priority === PRIORITY_STOP) this.stats.priorityZeroSent++;
    this.emit({ type: 'send-advert', priority });
  }

  private becomeMaster(reason: TransitionReason): void {
    this.clearTimers();
    this.preemptAt = undefined;
    this.masterAddress = undefined;
    this.masterPriority = 0;
    this.stats.becameMaster++;
    const from = this.st;
    this.st = 'MASTER';
    this.sendAdvert(this.prio);
    this.emit({ type: 'add-vips' });
    this.emit({ type: 'garp' });
    this.armAdvert();
    this.emit({ type: 'transition', from, to: 'MASTER', reason, priority: this.prio });
  }

  private leaveMaster(sendStop: boolean): void {
    if (this.st !== 'MASTER') return;
    this.stats.releasedMaster++;
    if (sendStop) this.sendAdvert(PRIORITY_STOP);
    this.emit({ type: 'remove-vips' });
  }

  private becomeBackup(reason: TransitionReason): void {
    this.clearTimers();
    const wasMaster = this.st === 'MASTER';
    if (wasMaster) this.leaveMaster(false);
    this.masterAdverIntMs = this.masterAdverIntMs || this.cfg.advertIntMs;
    this.transition('BACKUP', reason);
    this.armMasterDown(this.masterDownIntervalMs());
  }

  private enterFault(): void {
    const was = this.st;
    this.clearTimers();
    this.leaveMaster(true);
    if (was !== 'FAULT') this.transition('FAULT', 'fault');
  }

  private shutdown(): void {
    if (this.st === 'STOP') return;
    this.clearTimers();
    this.leaveMaster(true);
    this.transition('STOP', 'shutdown');
  }

  /** ageMs: the timers an advert (re)starts run from its arrival, not from when it is handled */
  private onAdvert(priority: number, src: string, advertIntMs: number, ageMs: number): void {
    if (this.st !== 'BACKUP' && this.st !== 'MASTER') return;
    this.stats.advertsReceived++;
    if (priority === PRIORITY_STOP) this.stats.priorityZeroReceived++;
    if (this.st === 'BACKUP') {
      if (this.cfg.version === 3 && advertIntMs > 0) this.masterAdverIntMs = advertIntMs;
      if (priority === PRIORITY_STOP) {
        this.armMasterDown(this.skewMs(), ageMs);
        return;
      }
      if (this.cfg.nopreempt || priority >= this.prio) {
        this.preemptAt = undefined;
        this.masterAddress = src;
        this.masterPriority = priority;
        this.armMasterDown(this.masterDownIntervalMs(), ageMs);
        return;
      }
      // a lower-priority master: preempt (let the timer run out), after preempt_delay if any
      if (this.cfg.preemptDelayMs > 0) {
        const now = this.clock.now();
        if (this.preemptAt === undefined) this.preemptAt = now + this.cfg.preemptDelayMs;
        if (now < this.preemptAt) {
          this.masterAddress = src;
          this.masterPriority = priority;
          this.armMasterDown(this.masterDownIntervalMs(), ageMs);
        }
      }
      return;
    }
    // MASTER
    if (priority === PRIORITY_STOP) {
      this.sendAdvert(this.prio);
      this.armAdvert();
      return;
    }
    const otherWins = priority > this.prio || (priority === this.prio && compareIp(src, this.cfg.primaryAddress) > 0);
    if (otherWins && this.prio < PRIORITY_OWNER) {
      if (this.cfg.higherPrioSendAdvert) this.sendAdvert(this.prio);
      if (this.cfg.version === 3 && advertIntMs > 0) this.masterAdverIntMs = advertIntMs;
      this.masterAddress = src;
      this.masterPriority = priority;
      this.becomeBackup('higher-priority-advert');
      return;
    }
    if (otherWins || compareIp(src, this.cfg.primaryAddress) === 0) return;
    if (!this.cfg.lowerPrioNoAdvert) this.sendAdvert(this.prio);
    this.emit({ type: 'garp-lower-prio' });
  }
}
