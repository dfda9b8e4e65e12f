// One BFD session (RFC 5880 asynchronous mode, no Demand, no Echo, no authentication) as a state
// machine over an injected Clock: Down / Init / Up / AdminDown, the transmit timer with its jitter,
// the detection timer, Poll / Final for timer changes, passive role, the idle rate while not Up.
// It never touches a socket: packets go out through `send`, state changes through `onChange`.
import type { Clock } from '../util/clock.js';
import { BfdDiag, type BfdControl, type BfdStateName, DIAG_TEXT, encodeControl } from './packet.js';

export interface SessionParams {
  name: string;
  /** bfd.DesiredMinTxInterval while Up, microseconds */
  minTxUs: number;
  /** bfd.RequiredMinRxInterval, microseconds */
  minRxUs: number;
  /** bfd.DesiredMinTxInterval while not Up (keepalived's idle_tx; RFC 5880: at least 1 s), microseconds */
  idleTxUs: number;
  /** bfd.DetectMult */
  multiplier: number;
  /** passive role: send nothing until the peer has been heard (RFC 5880 6.1) */
  passive: boolean;
}

export interface SessionChange {
  name: string;
  up: boolean;
  state: BfdStateName;
  /** diagnostic of a transition to Down */
  diag: number;
  /** a detection-time expiry: ms between the last packet received and the expiry */
  silentMs?: number;
  /** the detection time in force at the change, ms */
  detectMs: number;
}

export interface SessionHooks {
  /** send one encoded Control packet to the neighbour; throws or returns false on failure */
  send(packet: Buffer): boolean | undefined;
  /** the session went Up, or left Up */
  onChange(change: SessionChange): void;
  log?: (level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

export interface SessionSnapshot {
  name: string;
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiscr: number;
  remoteDiscr: number;
  localDiag: string;
  remoteDiag: string;
  /** µs */
  localTxInterval: number;
  remoteTxInterval: number;
  /** ms */
  detectionTime: number;
  remoteMultiplier: number;
  poll: boolean;
  sent: number;
  received: number;
  upTransitions: number;
  downTransitions: number;
}

/**
 * A session. Discriminators are the caller's (the engine keeps them unique). Times are taken from
 * the clock only; `random` (0..1) picks the jitter.
 */
export class BfdSession {
  state: BfdStateName = 'Down';
  remoteState: BfdStateName = 'Down';
  remoteDiscr = 0;
  localDiag = BfdDiag.None as number;
  remoteDiag = 0;
  /** RFC 5880 6.8.1: initialised to 1 */
  remoteMinRxUs = 1;
  remoteMinTxUs = 0;
  remoteMult = 0;
  poll = false;
  private final = false;
  /** current transmit interval (µs) before jitter */
  localTxUs: number;
  /** the peer's transmit interval as we expect it (µs) */
  remoteTxUs = 0;
  /** bfd.DetectMult of the peer x its interval, µs */
  detectUs = 0;
  private lastSeen = -1;
  private txTimer: unknown;
  private detectTimer: unknown;
  private resetTimer: unknown;
  private stopped = false;
  sent = 0;
  received = 0;
  upTransitions = 0;
  downTransitions = 0;

  constructor(
    readonly params: SessionParams,
    readonly localDiscr: number,
    private readonly clock: Clock,
    private readonly hooks: SessionHooks,
    private readonly random: () => number = Math.random,
  ) {
    this.localTxUs = params.idleTxUs;
  }

  /** what DesiredMinTxInterval this session announces now */
  private desiredTxUs(): number {
    return this.state === 'Up' ? this.params.minTxUs : this.params.idleTxUs;
  }

  /** Start transmitting (an active session) or waiting for the peer (a passive one). */
  start(): void {
    this.stopped = false;
    if (!this.params.passive) this.scheduleTx(this.jittered(this.localTxUs) / 1000);
  }

  /** Stop every timer; with adminDown, tell the peer first (AdminDown, diag 7). */
  stop(adminDown = false): void {
    if (adminDown && this.state !== 'AdminDown') {
      this.state = 'AdminDown';
      this.localDiag = BfdDiag.AdministrativelyDown;
      this.transmit();
    }
    this.stopped = true;
    for (const t of [this.txTimer, this.detectTimer, this.resetTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    this.txTimer = this.detectTimer = this.resetTimer = undefined;
  }

  /** The packet this session sends now (poll/final as they stand). */
  buildPacket(): BfdControl {
    return {
      version: 1,
      diag: this.localDiag,
      state: this.state,
      poll: this.poll && !this.final,
      final: this.final,
      cpi: false,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: this.params.multiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTx: this.desiredTxUs(),
      requiredMinRx: this.params.minRxUs,
      requiredMinEchoRx: 0,
    };
  }

  private transmit(): void {
    const pkt = this.buildPacket();
    if (pkt.final && this.poll) this.poll = false; // the parameters went out with the Final
    let ok: boolean | undefined;
    try {
      ok = this.hooks.send(encodeControl(pkt));
    } catch (e) {
      this.hooks.log?.('warn', `(${this.params.name}) cannot send: ${(e as Error).message}`, { err: e });
      ok = false;
    }
    if (ok !== false) this.sent++;
    this.final = false;
  }

  /** interval reduced by 0-25% (10-25% with a multiplier of 1), RFC 5880 6.8.7 */
  private jittered(us: number): number {
    const min = this.params.multiplier === 1 ? 0.1 : 0;
    return us * (1 - (min + this.random() * (0.25 - min)));
  }

  private mayTransmit(): boolean {
    if (this.stopped || this.state === 'AdminDown') return false;
    // a passive system sends nothing until it knows the peer (keepalived: from Init on)
    if (this.params.passive && (this.remoteDiscr === 0 || this.state === 'Down')) return false;
    return true;
  }

  private scheduleTx(ms: number): void {
    if (this.txTimer !== undefined) this.clock.clearTimeout(this.txTimer);
    this.txTimer = this.clock.setTimeout(() => {
      this.txTimer = undefined;
      if (!this.mayTransmit()) return;
      this.transmit();
      this.scheduleTx(this.jittered(this.localTxUs) / 1000);
    }, ms);
  }

  private ensureTx(): void {
    if (this.txTimer === undefined && this.mayTransmit()) this.scheduleTx(this.jittered(this.localTxUs) / 1000);
  }

  /**
   * A packet that passed decodeControl and the TTL check, for this session (the engine matched the
   * discriminator or, with Your Discriminator 0, the addresses). RFC 5880 6.8.6 from "If bfd.SessionState
   * is AdminDown" on.
   */
  receive(p: BfdControl): void {
    if (this.stopped || this.state === 'AdminDown') return;
    this.received++;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteMinRxUs = p.requiredMinRx;
    this.remoteMinTxUs = p.desiredMinTx;
    this.remoteMult = p.detectMult;
    if (p.final) this.poll = false;

    const oldTx = this.localTxUs;
    const oldDetect = this.detectUs;
    // the peer's interval (our detection time) follows it at once while not Up, and once Up
    // through its Poll Sequences (6.8.3, 6.8.4; as keepalived)
    if (this.state !== 'Up' || p.poll || p.final) this.remoteTxUs = Math.max(this.params.minRxUs, this.remoteMinTxUs);
    this.detectUs = this.remoteMult * this.remoteTxUs;
    if (this.detectUs !== oldDetect && oldDetect !== 0)
      this.hooks.log?.('debug', `(${this.params.name}) Detection time is ${Math.round(this.detectUs / 1000)} ms (was ${Math.round(oldDetect / 1000)} ms)`);

    const was = this.state;
    if (p.state === 'AdminDown') {
      if (was !== 'Down') this.toDown(BfdDiag.NeighborSignaledDown, true);
    } else if (was === 'Down') {
      if (p.state === 'Down') this.toInit();
      else if (p.state === 'Init') this.toUp();
    } else if (was === 'Init') {
      if (p.state === 'Init' || p.state === 'Up') this.toUp();
    } else if (was === 'Up' && p.state === 'Down') this.toDown(BfdDiag.NeighborSignaledDown, false);

    // our interval: what we announce (min_tx once Up, idle_tx before) but no faster than the peer
    // accepts. Only a decrease happens while Up (idle_tx to min_tx on the way Up), which may take
    // effect at once; an increase (Down) happens outside Up (6.8.3)
    this.localTxUs = Math.max(this.desiredTxUs(), this.remoteMinRxUs);
    this.lastSeen = this.clock.now();
    if (this.state === 'Init' || this.state === 'Up') this.armDetect();

    if (p.poll) {
      // answer a Poll at once with the Final bit (6.8.7), outside the periodic schedule
      this.final = true;
      if (!this.stopped) this.transmit();
    }
    // a shorter interval takes effect now, not after the old (longer) one runs out
    if (this.localTxUs < oldTx && this.txTimer !== undefined) {
      this.clock.clearTimeout(this.txTimer);
      this.txTimer = undefined;
    }
    this.ensureTx();
  }

  private armDetect(): void {
    if (this.detectTimer !== undefined) this.clock.clearTimeout(this.detectTimer);
    const ms = this.detectUs / 1000;
    this.detectTimer = this.clock.setTimeout(() => {
      this.detectTimer = undefined;
      if (this.state !== 'Init' && this.state !== 'Up') return;
      const silentMs = this.clock.now() - this.lastSeen;
      // 6.8.1: no packet for a Detection Time -> bfd.RemoteDiscr is zero
      this.remoteDiscr = 0;
      this.toDown(BfdDiag.ControlDetectionTimeExpired, false, silentMs);
    }, ms);
  }

  private toInit(): void {
    this.state = 'Init';
    this.localDiag = BfdDiag.None;
    this.cancelReset();
    this.hooks.log?.('debug', `(${this.params.name}) Entering Init state`);
  }

  private toUp(): void {
    this.state = 'Up';
    this.localDiag = BfdDiag.None;
    this.cancelReset();
    this.upTransitions++;
    // DesiredMinTxInterval changes from idle_tx to min_tx: a Poll Sequence (6.8.3); the faster
    // rate is used once the peer's Final arrives
    if (this.params.idleTxUs !== this.params.minTxUs) this.poll = true;
    this.hooks.log?.('info', `(${this.params.name}) Entering Up state`);
    this.hooks.onChange({ name: this.params.name, up: true, state: 'Up', diag: 0, detectMs: this.detectUs / 1000 });
  }

  private toDown(diag: number, byAdminDown: boolean, silentMs?: number): void {
    const wasUp = this.state === 'Up';
    this.state = 'Down';
    this.localDiag = diag;
    this.poll = false;
    // not Up: DesiredMinTxInterval back to idle (at least 1 s, 6.8.3)
    this.localTxUs = Math.max(this.params.idleTxUs, this.remoteMinRxUs);
    if (this.detectTimer !== undefined) this.clock.clearTimeout(this.detectTimer);
    this.detectTimer = undefined;
    this.scheduleReset();
    if (silentMs !== undefined) this.hooks.log?.(wasUp ? 'warn' : 'debug', `(${this.params.name}) Expired after ${Math.round(silentMs)} ms`, { silentMs });
    if (wasUp) {
      this.downTransitions++;
      this.hooks.log?.(
        'warn',
        `(${this.params.name}) Entering Down state (Local diagnostic - ${DIAG_TEXT[diag]}, Remote diagnostic - ${DIAG_TEXT[this.remoteDiag] ?? this.remoteDiag})`,
      );
      // as keepalived: the peer going AdminDown is no failure to report
      if (!byAdminDown) this.hooks.onChange({ name: this.params.name, up: false, state: 'Down', diag, silentMs, detectMs: this.detectUs / 1000 });
    }
    if (this.params.passive && this.txTimer !== undefined) {
      this.clock.clearTimeout(this.txTimer);
      this.txTimer = undefined;
    }
  }

  /** after a Detection Time in Down without news, forget the peer's variables (keepalived's reset) */
  private scheduleReset(): void {
    this.cancelReset();
    const ms = Math.max(this.detectUs / 1000, this.params.idleTxUs / 1000);
    this.resetTimer = this.clock.setTimeout(() => {
      this.resetTimer = undefined;
      if (this.state !== 'Down') return;
      this.remoteDiscr = 0;
      this.remoteState = 'Down';
      this.remoteMinRxUs = 1;
      this.remoteMinTxUs = 0;
      this.remoteMult = 0;
      this.remoteTxUs = 0;
      this.detectUs = 0;
      this.localTxUs = this.params.idleTxUs;
    }, ms);
  }

  private cancelReset(): void {
    if (this.resetTimer !== undefined) this.clock.clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
  }

  snapshot(): SessionSnapshot {
    return {
      name: this.params.name,
      state: this.state,
      remoteState: this.remoteState,
      localDiscr: this.localDiscr,
      remoteDiscr: this.remoteDiscr,
      localDiag: DIAG_TEXT[this.localDiag] ?? String(this.localDiag),
      remoteDiag: DIAG_TEXT[this.remoteDiag] ?? String(this.remoteDiag),
      localTxInterval: this.localTxUs,
      remoteTxInterval: this.remoteTxUs,
      detectionTime: this.detectUs / 1000,
      remoteMultiplier: this.remoteMult,
      poll: this.poll,
      sent: this.sent,
      received: this.received,
      upTransitions: this.upTransitions,
      downTransitions: this.downTransitions,
    };
  }
}
