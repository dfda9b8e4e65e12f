// The per-instance AH counters of keepalived 2.2.7: one sequence number shared by sending and
// receiving (anti-replay), and the IP identification of sent adverts.
//
// - sending: the sequence number is incremented before each advert (1, 2, ...); past 0xFFFFFFFD
//   it stops and the counter is marked cycled; becoming MASTER with a cycled counter restarts at 0;
// - receiving: an advert whose ICV is valid is accepted only when its sequence number is greater
//   than the counter, which then takes its value (so a BACKUP that takes over goes on from the
//   master's last number);
// - a MASTER that hears a lower-priority advert sets the counter to that advert's number + 1.
const SEQ_LIMIT = 0xfffffffd;

export class AhCounter {
  seq = 0;
  cycled = false;
  private ipId = 0;

  /** The sequence number of the next advert. */
  nextSeq(): number {
    if (this.seq > SEQ_LIMIT) this.cycled = true;
    else this.seq++;
    return this.seq;
  }

  /** The IP identification of the next advert: 1..65535, never 0 (the kernel would fill it in). */
  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    if (this.ipId === 0) this.ipId = 1;
    return this.ipId;
  }

  /** Replay check of a received advert's number; true (and the counter advanced) when accepted. */
  accept(received: number): boolean {
    if (received <= this.seq) return false;
    this.seq = received;
    return true;
  }

  /** keepalived's "Syncing seq_num": a MASTER heard a lower-priority advert. */
  syncFromLowerPriority(received: number): void {
    this.seq = (received + 1) >>> 0;
    this.cycled = false;
  }

  /** Entering MASTER: a cycled counter starts again. */
  onBecomeMaster(): void {
    if (!this.cycled) return;
    this.cycled = false;
    this.seq = 0;
  }

  /** Reload: the sequence number (not the IP id) goes on from the previous instance's. */
  inheritSequence(from: AhCounter): void {
    this.seq = from.seq;
    this.cycled = from.cycled;
  }

  clearCycle(): void {
    this.cycled = false;
  }
}
