// keepalived's per-checker loop: run a check every delay_loop; on a failure retry `retry` times,
// delay_before_retry apart, before declaring the checker down; a success declares it up at once.
// The first run is delayed by a random value in [0, warmup] when warmup is set, otherwise by an
// offset hashed from the checker's identity within one delay_loop, so thousands of checkers spread
// over the loop instead of firing together.
import { createHash } from 'node:crypto';
import type { Limiter } from './limiter.js';
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
}

/** A stable offset in [0, span) for a checker identity (spreads first runs deterministically). */
export function hashedOffset(id: string, span: number): number {
  if (span <= 0) return 0;
  const h = createHash('sha1').update(id).digest();
  return (h.readUInt32BE(0) / 0x1_0000_0000) * span;
}

export function firstDelay(id: string, t: LoopTiming, random: () => number = Math.random): number {
  if (t.warmup !== undefined && t.warmup > 0) return random() * t.warmup;
  return hashedOffset(id, t.delayLoop);
}

export interface CheckerStats {
  checks: number;
  failures: number;
  lastLatencyMs?: number;
  lastReason?: string;
  lastResultAt?: number;
}

/** Called when the checker's verdict is known: after a success, or after the last failed retry. */
export type VerdictListener = (up: boolean, result: CheckResult) => void;

export class CheckerLoop {
  readonly stats: CheckerStats = { checks: 0, failures: 0 };
  /** current verdict; starts as given (alpha => down) */
  up: boolean;
  private retriesUsed = 0;
  private timer: unknown;
  private running = false;
  private abort: AbortController | undefined;
  private stopped = false;

  constructor(
    readonly id: string,
    private readonly attempt: (signal: AbortSignal) => Promise<CheckResult>,
    private timing: LoopTiming,
    initialUp: boolean,
    private readonly onVerdict: VerdictListener,
    private readonly timers: Timers = realTimers,
    private readonly limiter?: Limiter,
  ) {
    this.up = initialUp;
  }

  start(delayMs = firstDelay(this.id, this.timing)): void {
    this.stopped = false;
    this.schedule(delayMs);
  }

  /** Change timing on reload; the next run keeps its slot. */
  retime(t: LoopTiming): void {
    this.timing = t;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
  }

  get isRunning(): boolean {
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.runOnce();
    }, Math.max(0, ms));
  }

  private async runOnce(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    const wait = this.limiter?.acquire();
    if (wait) await wait;
    if (this.stopped) {
      this.limiter?.release();
      this.running = false;
      return;
    }
    // one controller per loop, replaced only after it has been used to abort
    if (!this.abort || this.abort.signal.aborted) this.abort = new AbortController();
    let r: CheckResult;
    try {
      r = await this.attempt(this.abort.signal);
    } catch (e) {
      r = { ok: false, reason: `checker error: ${(e as Error).message}`, latencyMs: 0 };
    }
    this.limiter?.release();
    this.running = false;
    if (this.stopped) return;
    this.stats.checks++;
    this.stats.lastLatencyMs = r.latencyMs;
    this.stats.lastReason = r.reason;
    this.stats.lastResultAt = Date.now();
    if (r.ok) {
      this.retriesUsed = 0;
      this.up = true;
      this.onVerdict(true, r);
      this.schedule(this.timing.delayLoop);
      return;
    }
    this.stats.failures++;
    // already down: no retries, the verdict cannot change
    if (this.up && this.retriesUsed < this.timing.retry) {
      this.retriesUsed++;
      this.schedule(this.timing.delayBeforeRetry);
      return;
    }
    this.retriesUsed = 0;
    this.up = false;
    this.onVerdict(false, r);
    this.schedule(this.timing.delayLoop);
  }
}
