// A counting semaphore bounding the checks in flight. Under overload checks queue (FIFO) before
// they start, so their deadlines measure the server, not our backlog: overload stretches the
// effective delay_loop instead of turning healthy servers into false failures.
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private head = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`limiter needs max >= 1, got ${max}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  acquire(): Promise<void> | undefined {
    if (this.active < this.max) {
      this.active++;
      return undefined;
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    if (this.head < this.queue.length) {
      const next = this.queue[this.head];
      this.queue[this.head++] = undefined as unknown as () => void;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      next(); // the slot passes straight to the next waiter
      return;
    }
    this.active--;
  }
}
