// One at a time, in call order: the apply path of every backend that must not interleave two
// transactions (the LB backends, the VIP filter). A failed run rejects its own caller only; the
// next run still starts after it.

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every run queued before it; resolves or rejects as `fn` does. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.tail.then(fn);
    this.tail = r.then(
      () => {},
      () => {},
    );
    return r;
  }

  /** Resolves once every run queued so far has ended (never rejects). */
  idle(): Promise<void> {
    return this.tail;
  }
}
