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

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return t;
  },
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

/** What a loop needs from its owner: run one attempt, hear the verdicts. */
export interface LoopHost<T> {
  attempt(tag: T, signal: AbortSignal | undefined): Promise<CheckResult>;
  /** after a success, or after the last failed retry */
  verdict(tag: T, up: boolean, result: CheckResult): void;
}

function fireLoop(loop: CheckerLoop<unknown>): void {
  loop.onTimer();
}

/**
 * One checker's loop. Kept small (tens of thousands may exist): no closure per loop or per run
 * (the timer calls a shared function with the loop as argument and is re-armed with refresh()
 * when the delay repeats), no promise while waiting for a slot of the limiter, and one stop signal
 * shared by all loops of an owner.
 */
export class CheckerLoop<T = unknown> implements LimiterWaiter {
  readonly stats: CheckerStats = { checks: 0, failures: 0 };
  /** current verdict; starts as given (alpha => down) */
  up: boolean;
  private retriesUsed = 0;
  /** declared down by failures and no success since (keepalived's failed url) */
  private failedPass = false;
  private timer: unknown;
  private timerMs = -1;
  private armed = false;
  private running = false;
  private stopped = false;

  constructor(
    private readonly host: LoopHost<T>,
    readonly tag: T,
    private timing: LoopTiming,
    initialUp: boolean,
    private readonly opts: { timers?: Timers; limiter?: Limiter; signal?: AbortSignal } = {},
  ) {
    this.up = initialUp;
  }

  /** First run after `delayMs` (see firstDelay). */
  start(delayMs: number): void {
    this.stopped = false;
    this.schedule(delayMs);
  }

  /** Change timing on reload; the next run keeps its slot. */
  retime(t: LoopTiming): void {
    this.timing = t;
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** @internal timer callback */
  onTimer(): void {
    this.armed = false;
    if (this.stopped || this.running) return;
    this.running = true;
    const limiter = this.opts.limiter;
    if (!limiter || limiter.tryAcquire(this)) void this.run();
  }

  /** @internal the limiter handed us a slot */
  granted(): void {
    if (this.stopped) {
      this.running = false;
      this.opts.limiter?.release();
      return;
    }
    void this.run();
  }

  private disarm(): void {
    if (this.armed) (this.opts.timers ?? realTimers).clearTimeout(this.timer);
    this.armed = false;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const timers = this.opts.timers ?? realTimers;
    ms = Math.max(0, ms);
    if (timers === realTimers && this.timer !== undefined && !this.armed && ms === this.timerMs) {
      (this.timer as NodeJS.Timeout).refresh();
      this.armed = true;
      return;
    }
    this.disarm();
    this.timer = timers === realTimers ? setTimeout(fireLoop, ms, this) : timers.setTimeout(() => this.onTimer(), ms);
    this.timerMs = ms;
    this.armed = true;
  }

  private async run(): Promise<void> {
    let r: CheckResult;
    try {
      r = await this.host.attempt(this.tag, this.opts.signal);
    } catch (e) {
      r = { ok: false, reason: `checker error: ${(e as Error).message}`, latencyMs: 0 };
    }
    this.opts.limiter?.release();
    this.running = false;
    if (this.stopped) return;
    const st = this.stats;
    st.checks++;
    st.lastLatencyMs = r.latencyMs;
    st.lastReason = r.reason;
    if (r.ok) {
      this.retriesUsed = 0;
      if (this.failedPass && this.timing.confirmAfterFailure !== undefined) {
        this.failedPass = false;
        this.schedule(this.timing.confirmAfterFailure);
        return;
      }
      this.failedPass = false;
      this.up = true;
      this.host.verdict(this.tag, true, r);
      this.schedule(this.timing.delayLoop);
      return;
    }
    st.failures++;
    // already down: no retries, the verdict cannot change
    if (this.up && this.retriesUsed < this.timing.retry) {
      this.retriesUsed++;
      this.schedule(this.timing.delayBeforeRetry);
      return;
    }
    this.retriesUsed = 0;
    if (this.up) this.failedPass = true;
    this.up = false;
    this.host.verdict(this.tag, false, r);
    this.schedule(this.timing.delayLoop);
  }
}
