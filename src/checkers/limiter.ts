// A counting semaphore bounding the checks in flight. Under overload checks queue (FIFO) before
// they start, so their deadlines measure the server, not our backlog: overload stretches the
// effective delay_loop instead of turning healthy servers into false failures.
// Waiters are plain objects with a `granted` method (no promise per waiter: thousands may queue).

export interface LimiterWaiter {
  /** called when the slot is handed over; the waiter must release() it later */
  granted(): void;
}

export class Limiter {
  private active = 0;
  private queue: (LimiterWaiter | undefined)[] = [];
  private head = 0;
  private releasing = false;
  private deferred = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`limiter needs max >= 1, got ${max}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** true = the slot is taken now; false = queued, w.granted() will be called later. */
  tryAcquire(w: LimiterWaiter): boolean {
    if (this.active < this.max) {
      this.active++;
      return true;
    }
    this.queue.push(w);
    return false;
  }

  /** Promise form, for callers that can await. */
  acquire(): Promise<void> | undefined {
    let resolve!: () => void;
    const p = new Promise<void>((r) => (resolve = r));
    return this.tryAcquire({ granted: () => resolve() }) ? undefined : p;
  }

  /**
   * Give a slot back: it passes straight to the next waiter, if any. A waiter that releases from
   * within granted() (e.g. a stopped loop) is handled iteratively, never by recursion.
   */
  release(): void {
    if (this.releasing) {
      this.deferred++;
      return;
    }
    this.releasing = true;
    try {
      let slots = 1;
      while (slots > 0) {
        slots--;
        const next = this.shift();
        if (next) next.granted();
        else this.active--;
        slots += this.deferred;
        this.deferred = 0;
      }
    } finally {
      this.releasing = false;
    }
  }

  private shift(): LimiterWaiter | undefined {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (next) return next;
    }
    return undefined;
  }
}
