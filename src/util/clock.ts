// Injectable time source and timer scheduler: the real one for the daemon, a fake one for tests.
export interface Clock {
  /** monotonic milliseconds */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  /**
   * A timer that fires at its deadline to within a fraction of a millisecond (Node's timers have
   * whole-millisecond resolution and fire 1-2 ms late). For rare, latency-critical deadlines only:
   * the master-down timer, whose lateness is the failover time. Cleared with clearTimeout().
   */
  setPreciseTimeout(fn: () => void, ms: number): unknown;
  /**
   * Run fn on a later event-loop turn, after pending I/O (Node's setImmediate): how a long series
   * of sends yields to the timers and sockets between each. Cleared with clearTimeout().
   */
  setImmediate(fn: () => void): unknown;
  /** cancels a handle of setTimeout, setPreciseTimeout or setImmediate */
  clearTimeout(handle: unknown): void;
}

/** how long before the deadline the Node timer is set; the rest is waited out by a bounded spin */
const SPIN_MS = 2;

class PreciseTimer {
  timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly deadline: number,
    private readonly fn: () => void,
  ) {
    // always through a Node timer first: the callback never runs inside setPreciseTimeout()
    this.schedule(this.deadline - performance.now());
  }

  private schedule(rest: number): void {
    this.timer = setTimeout(() => this.arm(), Math.max(0, Math.floor(rest - SPIN_MS)));
  }

  private arm(): void {
    const rest = this.deadline - performance.now();
    if (rest <= SPIN_MS) this.spin();
    else this.schedule(rest);
  }

  private spin(): void {
    this.timer = undefined;
    // at most SPIN_MS (+ scheduling noise): the loop ends at the deadline whatever happens
    while (performance.now() < this.deadline);
    this.fn();
  }
}

/** a Node immediate, told apart from a Node timer by clearTimeout() */
class ImmediateHandle {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

function clearAny(h: unknown): void {
  if (h instanceof PreciseTimer) clearTimeout(h.timer);
  else if (h instanceof ImmediateHandle) clearImmediate(h.immediate);
  else clearTimeout(h as NodeJS.Timeout);
}

export const realClock: Clock = {
  now: () => performance.now(),
  // Node truncates fractional delays (firing up to 1 ms early); round up instead so that a
  // drift-free schedule (deadline - now) never fires before its deadline
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, Math.ceil(ms))),
  setPreciseTimeout: (fn, ms) => new PreciseTimer(performance.now() + Math.max(0, ms), fn),
  setImmediate: (fn) => new ImmediateHandle(setImmediate(fn)),
  clearTimeout: clearAny,
};

/** A deterministic clock: time moves only through advance(). */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void; seq: number }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, seq: id });
    return id;
  }

  setPreciseTimeout(fn: () => void, ms: number): unknown {
    return this.setTimeout(fn, ms);
  }

  /** due now: runs at the next advance() (advance(0) included), after the timers already due */
  setImmediate(fn: () => void): unknown {
    return this.setTimeout(fn, 0);
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Advance time by ms, firing due timers in order (timers set by callbacks fire too if due). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void; seq: number }] | undefined;
      for (const e of this.timers) {
        if (e[1].at > end) continue;
        if (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }

  pending(): number {
    return this.timers.size;
  }
}
