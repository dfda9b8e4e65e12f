// Reads a file the way keepalived's fgets(buf, 1024) loop does: bytes decoded as latin1,
// at most 1023 bytes per read (a longer physical line becomes several logical reads),
// a NUL byte ends the string early, and the line counter only advances when the read
// ended with a newline. Reads in chunks, so memory stays bounded for huge files.
import { closeSync, openSync, readSync } from 'node:fs';

/** fgets(buf, MAXBUF) with MAXBUF = 1024 reads at most this many bytes */
export const FGETS_MAX = 1023;
const CHUNK = 1 << 20;

export interface PhysicalRead {
  /** text read, newline and trailing CR/LF removed, cut at the first NUL */
  text: string;
  /** true when the read ended with a newline (keepalived then counts a line) */
  newline: boolean;
}

export class PhysicalFile {
  private readonly fd: number;
  private buf: Buffer = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private end = 0;
  private eof = false;
  private closed = false;
  /** cached positions of the next '\n' / NUL at or after pos (this.end = none in the valid data) */
  private nlPos = -1;
  private nulPos = -1;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** Next fgets() result, or null at end of file. */
  next(): PhysicalRead | null {
    for (;;) {
      const avail = this.end - this.pos;
      if (this.nlPos < this.pos) this.nlPos = this.find(10);
      const nl = this.nlPos;
      if (nl < this.end && nl - this.pos < FGETS_MAX) return this.take(nl + 1, true);
      if (avail >= FGETS_MAX) return this.take(this.pos + FGETS_MAX, false);
      if (this.eof) {
        if (avail === 0) return null;
        return this.take(this.end, false);
      }
      this.refill();
    }
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
  }

  private take(stop: number, newline: boolean): PhysicalRead {
    const start = this.pos;
    if (this.nulPos < start) this.nulPos = this.find(0);
    const nul = this.nulPos;
    this.pos = stop;
    let cut = newline ? stop - 1 : stop;
    if (nul < cut) {
      cut = nul;
      newline = false; // strlen() stops at the NUL: the '\n' is not seen
    }
    while (cut > start && (this.buf[cut - 1] === 13 || this.buf[cut - 1] === 10)) cut--;
    return { text: this.buf.toString('latin1', start, cut), newline };
  }

  /** position of the next byte `b` in [pos, end), or end */
  private find(b: number): number {
    const n = this.buf.indexOf(b, this.pos);
    return n === -1 || n >= this.end ? this.end : n;
  }

  private refill(): void {
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    this.nlPos = -1;
    this.nulPos = -1;
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
    if (n === 0) this.eof = true;
    else this.end += n;
  }
}
