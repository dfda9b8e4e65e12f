// Event-loop delay of the daemon (perf_hooks.monitorEventLoopDelay), reported per fixed window so
// that a scrape sees what the loop did lately, not an average over the whole uptime.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { type MetricSample, metricSample } from '../engine-api/types.js';

export interface LoopDelayWindow {
  /** 1, 2, ... (0: no window complete yet) */
  seq: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class EventLoopDelay {
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: LoopDelayWindow = { seq: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  private maxEverMs = 0;

  /** resolutionMs: the sampling timer; windowMs: how long one reported window lasts. */
  constructor(
    private readonly windowMs = 5000,
    private readonly resolutionMs = 10,
  ) {}

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), this.windowMs);
    this.timer.unref();
  }

  private roll(): void {
    const h = this.histogram;
    if (!h) return;
    // the histogram records the time between two sampling timers: the delay is what exceeds the resolution
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - this.resolutionMs) : 0);
    // an empty window (the loop was blocked for all of it) reports its length as the delay
    const blocked = h.count === 0;
    this.last = {
      seq: this.last.seq + 1,
      p50Ms: blocked ? this.windowMs : ms(h.percentile(50)),
      p99Ms: blocked ? this.windowMs : ms(h.percentile(99)),
      maxMs: blocked ? this.windowMs : ms(h.max),
    };
    this.maxEverMs = Math.max(this.maxEverMs, this.last.maxMs);
    h.reset();
  }

  get lastWindow(): LoopDelayWindow {
    return this.last;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  metrics(): MetricSample[] {
    const w = this.last;
    const g = metricSample;
    const help = `Event-loop delay over the last complete ${this.windowMs / 1000} s window (timer lateness, ${this.resolutionMs} ms sampling), by quantile.`;
    return [
      g('tskeepalived_event_loop_delay_seconds', help, w.p50Ms / 1000, { quantile: '0.5' }),
      g('tskeepalived_event_loop_delay_seconds', help, w.p99Ms / 1000, { quantile: '0.99' }),
      g('tskeepalived_event_loop_delay_seconds', help, w.maxMs / 1000, { quantile: '1' }),
      g('tskeepalived_event_loop_delay_windows_total', 'Event-loop delay windows completed (the window the quantiles describe).', w.seq, {}, 'counter'),
      g('tskeepalived_event_loop_delay_max_seconds', 'Largest event-loop delay seen since the start.', this.maxEverMs / 1000),
    ];
  }
}
