// The reconnect rhythm of a client whose peer may be missing or go away (the D-Bus bus, the SNMP
// master agent): one warning per outage, then quiet retries whose delay doubles from minMs up to
// maxMs (1 s to 30 s by default), back to minMs once connected. Holds only that state; the caller
// logs and arms its own timer.

export class OutageBackoff {
  private waitMs: number;
  private inOutage = false;

  constructor(
    private readonly minMs = 1000,
    private readonly maxMs = 30000,
  ) {
    this.waitMs = minMs;
  }

  /** A failed attempt: `first` when it starts an outage (the one to warn about), `waitMs` before the next try. */
  failed(): { first: boolean; waitMs: number } {
    const first = !this.inOutage;
    this.inOutage = true;
    const waitMs = this.waitMs;
    this.waitMs = Math.min(this.waitMs * 2, this.maxMs);
    return { first, waitMs };
  }

  /** Connected: returns whether an outage ended (worth an info line); the next failure waits minMs. */
  connected(): boolean {
    const ended = this.inOutage;
    this.inOutage = false;
    this.waitMs = this.minMs;
    return ended;
  }
}
