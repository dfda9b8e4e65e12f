// keepalived's per-checker loop: run a check every delay_loop; on a failure retry `retry` times,
// delay_before_retry apart, before declaring the checker down; a success declares it up at once
// (HTTP_GET/SSL_GET after a failure: the next passing check does, see confirmAfterFailure).
// The first run is delayed by a random value in [0, warmup] when warmup is set, otherwise by an
// offset hashed from the checker's identity within one delay_loop, so thousands of checkers spread
// over the loop instead of firing together.
import { createHash } from 'node:crypto';
import type { Limiter, LimiterWaiter } from './limiter.js';
import type { CheckResult } from './types.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** node's timers; CheckerLoop does not call these but arms the shared timerWheel instead */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LoopTiming {
  /** ms between the end of a check cycle and the next */
  delayLoop: number;
  /** retries after a failed attempt before the checker is declared down */
  retry: number;
  /** ms between a failed attempt and its retry */
  delayBeforeRetry: number;
  /** ms; first run at a random point in [0, warmup] */
  warmup?: number;
  /**
   * keepalived's HTTP_GET/SSL_GET: after the checker was declared down, a success only clears the
   * failed url and the server is restored by the next passing check, this many ms later (the
   * delay_loop; 0 with fast_recovery). Undefined: the first success restores (the other checkers).
   */
  confirmAfterFailure?: number;
}

/** A stable offset in [0, span) for a checker identity (spreads first runs deterministically). */
export function hashedOffset(id: string, span: number): number {
  if (span <= 0) return 0;
  const h = createHash('sha1').update(id).digest();
  return (h.readUInt32BE(0) / 0x1_0000_0000) * span;
}

/**
 * Delay before a checker's first run. Rounded to 10 ms so that thousands of loops share a few
 * hundred timer lists instead of one list per distinct duration.
 */
export function firstDelay(id: string, t: LoopTiming, random: () => number = Math.random): number {
  const raw = t.warmup !== undefined && t.warmup > 0 ? random() * t.warmup : hashedOffset(id, t.delayLoop);
  return Math.floor(raw / 10) * 10;
}

export interface CheckerStats {
  checks: number;
  failures: number;
  lastLatencyMs?: number;
  lastReason?: string;
}

/** What a loop needs from its owner: run one attempt, hear the verdicts. L is the loop's own class. */
export interface LoopHost<L> {
  attempt(loop: L, signal: AbortSignal | undefined): Promise<CheckResult>;
  /** after a success, or after the last failed retry */
  verdict(loop: L, up: boolean, result: CheckResult): void;
}

/** ms per tick of the TimerWheel: due times are rounded up to it */
export const WHEEL_TICK_MS = 10;

/** The wheel's own timer calls this (a shared function: no closure). */
function fireWheel(w: TimerWheel): void {
  w.fire();
}

/**
 * One node timer for every checker loop of the process (tens of thousands of them), instead of one
 * Timeout object (about 120 bytes, plus its timer list) per loop. Loops due in the same 10 ms tick
 * share a bucket (an array of loops); a binary heap of the ticks that have a bucket finds the next
 * one; a single Timeout is armed for it. A loop is in at most one bucket, exactly while it is armed.
 */
export class TimerWheel {
  private readonly buckets = new Map<number, CheckerLoopBase[]>();
  /** min-heap of the ticks in `buckets` */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerTick = Number.POSITIVE_INFINITY;
  private readonly origin = performance.now();

  /** loops armed (for tests and diagnostics) */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.length;
    return n;
  }

  /** Arm `loop` to fire in `ms` (rounded up to the tick); returns its tick, for remove(). */
  add(loop: CheckerLoopBase, ms: number): number {
    const tick = Math.ceil((performance.now() - this.origin + ms) / WHEEL_TICK_MS);
    let b = this.buckets.get(tick);
    if (b === undefined) {
      b = [];
      this.buckets.set(tick, b);
      this.push(tick);
    }
    b.push(loop);
    if (tick < this.timerTick) this.arm(tick);
    return tick;
  }

  remove(loop: CheckerLoopBase, tick: number): void {
    const b = this.buckets.get(tick);
    if (b === undefined) return;
    const i = b.indexOf(loop);
    if (i < 0) return;
    b[i] = b[b.length - 1]!;
    b.pop();
    if (b.length > 0) return;
    // the heap keeps the tick (no removal from a heap): fire() skips ticks without a bucket
    this.buckets.delete(tick);
    if (this.buckets.size === 0) {
      // nothing armed: no timer left to hold the process open
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerTick = Number.POSITIVE_INFINITY;
      this.heap.length = 0;
    }
  }

  /** @internal the wheel's timer: fire every bucket whose tick has come */
  fire(): void {
    this.timer = undefined;
    this.timerTick = Number.POSITIVE_INFINITY;
    const nowTick = Math.floor((performance.now() - this.origin) / WHEEL_TICK_MS);
    const heap = this.heap;
    while (heap.length > 0 && heap[0]! <= nowTick) {
      const tick = this.pop();
      const b = this.buckets.get(tick);
      if (b === undefined) continue;
      this.buckets.delete(tick);
      // loops re-armed from here go to new buckets (a later timer run)
      for (let i = 0; i < b.length; i++) b[i]!.onWheel(tick);
    }
    if (heap.length > 0 && this.timer === undefined) this.arm(heap[0]!);
  }

  private arm(tick: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerTick = tick;
    this.timer = setTimeout(fireWheel, Math.max(0, tick * WHEEL_TICK_MS - (performance.now() - this.origin)), this);
  }

  private push(tick: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(tick);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= tick) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = tick;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && h[l + 1]! < h[l]! ? l + 1 : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** the wheel of the loops that run on real timers */
export const timerWheel = new TimerWheel();

// bits of CheckerLoop.bits
const UP = 1;
const FAILED_PASS = 2;
const ARMED = 4;
const RUNNING = 8;
const STOPPED = 16;
const RETRY_SHIFT = 5;

/** What a loop uses besides its own fields: one object shared by the loops of an owner. */
export interface LoopOptions {
  timers?: Timers;
  limiter?: Limiter;
  signal?: AbortSignal;
}

const NO_OPTIONS: LoopOptions = Object.freeze({});

/**
 * One checker's loop. Kept small (tens of thousands may exist; about 70 bytes each): no closure
 * per loop or per run, no Timeout per loop on real timers (the shared TimerWheel), flags and the
 * retry count in one small integer, the statistics as plain fields (the last latency in whole
 * microseconds, a small integer rather than a boxed double), no promise while waiting for a slot of
 * the limiter. What runs an attempt, hears a verdict and gives the options (timers, limiter, stop
 * signal) is up to the subclass, so an owner with many loops keeps those once rather than in each
 * loop (the checkers engine: once per virtual server). CheckerLoop is the ready-made subclass.
 */
export abstract class CheckerLoopBase implements LimiterWaiter {
  private bits: number;
  /** the wheel tick while armed on real timers, else the handle of the options' timers */
  private slot: unknown = undefined;
  private checks = 0;
  private failures = 0;
  /** µs, -1 = none yet */
  private latencyUs = -1;
  private reason: string | undefined = undefined;

  constructor(
    private timing: LoopTiming,
    initialUp: boolean,
  ) {
    this.bits = initialUp ? UP : 0;
  }

  /** timers (absent: the shared wheel), limiter and stop signal of this loop */
  protected abstract loopOptions(): LoopOptions;
  /** run one attempt */
  protected abstract attempt(signal: AbortSignal | undefined): Promise<CheckResult>;
  /** after a success, or after the last failed retry */
  protected abstract verdict(up: boolean, result: CheckResult): void;

  /** current verdict; starts as given (alpha => down) */
  get up(): boolean {
    return (this.bits & UP) !== 0;
  }

  /** a copy of the counters */
  get stats(): CheckerStats {
    const s: CheckerStats = { checks: this.checks, failures: this.failures };
    if (this.latencyUs >= 0) s.lastLatencyMs = this.latencyUs / 1000;
    if (this.reason !== undefined) s.lastReason = this.reason;
    return s;
  }

  /** the loop's timing (shared by the loops that have the same) */
  get loopTiming(): LoopTiming {
    return this.timing;
  }

  /** First run after `delayMs` (see firstDelay). */
  start(delayMs: number): void {
    this.bits &= ~STOPPED;
    this.schedule(delayMs);
  }

  /** Change timing on reload; the next run keeps its slot. */
  retime(t: LoopTiming): void {
    this.timing = t;
  }

  stop(): void {
    this.bits |= STOPPED;
    this.disarm();
  }

  get isRunning(): boolean {
    return (this.bits & RUNNING) !== 0;
  }

  /** @internal the wheel's bucket for `tick` fires: only if this loop is still armed there */
  onWheel(tick: number): void {
    if (this.bits & ARMED && this.slot === tick) this.onTimer();
  }

  /** @internal timer callback */
  onTimer(): void {
    const b = this.bits & ~ARMED;
    this.slot = undefined;
    if (b & (STOPPED | RUNNING)) {
      this.bits = b;
      return;
    }
    this.bits = b | RUNNING;
    const limiter = this.loopOptions().limiter;
    if (!limiter || limiter.tryAcquire(this)) void this.run();
  }

  /** @internal the limiter handed us a slot */
  granted(): void {
    if (this.bits & STOPPED) {
      this.bits &= ~RUNNING;
      this.loopOptions().limiter?.release();
      return;
    }
    void this.run();
  }

  private disarm(): void {
    if (this.bits & ARMED) {
      const timers = this.loopOptions().timers;
      if (timers === undefined || timers === realTimers) timerWheel.remove(this, this.slot as number);
      else timers.clearTimeout(this.slot);
      this.slot = undefined;
    }
    this.bits &= ~ARMED;
  }

  private schedule(ms: number): void {
    if (this.bits & STOPPED) return;
    this.disarm();
    const timers = this.loopOptions().timers;
    ms = Math.max(0, ms);
    this.slot = timers === undefined || timers === realTimers ? timerWheel.add(this, ms) : timers.setTimeout(() => this.onTimer(), ms);
    this.bits |= ARMED;
  }

  private async run(): Promise<void> {
    let r: CheckResult;
    try {
      r = await this.attempt(this.loopOptions().signal);
    } catch (e) {
      r = { ok: false, reason: `checker error: ${(e as Error).message}`, latencyMs: 0 };
    }
    this.loopOptions().limiter?.release();
    this.bits &= ~RUNNING;
    if (this.bits & STOPPED) return;
    this.checks++;
    this.latencyUs = Math.max(0, Math.round(r.latencyMs * 1000));
    this.reason = r.reason;
    const retriesUsed = this.bits >>> RETRY_SHIFT;
    const flags = this.bits & (UP | FAILED_PASS | ARMED);
    if (r.ok) {
      if (flags & FAILED_PASS && this.timing.confirmAfterFailure !== undefined) {
        this.bits = flags & ~FAILED_PASS;
        this.schedule(this.timing.confirmAfterFailure);
        return;
      }
      this.bits = (flags & ~FAILED_PASS) | UP;
      this.verdict(true, r);
      this.schedule(this.timing.delayLoop);
      return;
    }
    this.failures++;
    // already down: no retries, the verdict cannot change
    if (flags & UP && retriesUsed < this.timing.retry) {
      this.bits = flags | ((retriesUsed + 1) << RETRY_SHIFT);
      this.schedule(this.timing.delayBeforeRetry);
      return;
    }
    this.bits = flags & UP ? (flags | FAILED_PASS) & ~UP : flags & ~UP;
    this.verdict(false, r);
    this.schedule(this.timing.delayLoop);
  }
}

/**
 * A loop with its callbacks and options given to the constructor (one host object may serve many
 * loops; the host receives the loop, of the subclass's type L when extended).
 */
export class CheckerLoop extends CheckerLoopBase {
  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: the host is typed by the subclass that uses it
    private readonly host: LoopHost<any>,
    timing: LoopTiming,
    initialUp: boolean,
    private readonly opts: LoopOptions = NO_OPTIONS,
  ) {
    super(timing, initialUp);
  }

  protected loopOptions(): LoopOptions {
    return this.opts;
  }

  protected attempt(signal: AbortSignal | undefined): Promise<CheckResult> {
    return this.host.attempt(this, signal);
  }

  protected verdict(up: boolean, result: CheckResult): void {
    this.host.verdict(this, up, result);
  }
}
