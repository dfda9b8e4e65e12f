// Reads a file the way keepalived's fgets(buf, 1024) loop does: bytes decoded as latin1,
// at most 1023 bytes per read (a longer physical line becomes several reads), a NUL byte
// ends the string early, and the line counter only advances when the read ended with a
// newline. Reads 64 KB chunks (decoded once each), so memory stays bounded for huge files.
import { closeSync, openSync, readSync } from 'node:fs';

/** fgets(buf, MAXBUF) with MAXBUF = 1024 reads at most this many bytes */
export const FGETS_MAX = 1023;
// 64 KB: the decoded string is an ordinary young object whose memory is reused; 1 MB strings went
// to fresh pages each (first touches of fresh pages are costly: about 7% of a large config test)
const CHUNK = 1 << 16;

export interface PhysicalRead {
  /** text read, newline and trailing CR/LF removed, cut at the first NUL */
  readonly text: string;
  /** true when the read ended with a newline (keepalived then counts a line) */
  newline: boolean;
}

/** A read as a range of the decoded chunk: the text is only sliced when asked for. */
export class RawRead implements PhysicalRead {
  src = '';
  start = 0;
  end = 0;
  newline = false;
  get text(): string {
    return this.src.slice(this.start, this.end);
  }
}

export class PhysicalFile {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private s = '';
  private pos = 0;
  private eof = false;
  private closed = false;
  /** cached positions of the next '\n' / NUL at or after pos (s.length = none) */
  private nlPos = -1;
  private nulPos = -1;
  /** the result object is reused: callers consume it before the next call */
  private readonly out = new RawRead();

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** Next fgets() result, or null at end of file. */
  next(): RawRead | null {
    for (;;) {
      const s = this.s;
      const avail = s.length - this.pos;
      if (this.nlPos < this.pos) {
        const nl = s.indexOf('\n', this.pos);
        this.nlPos = nl === -1 ? s.length : nl;
      }
      const nl = this.nlPos;
      if (nl < s.length && nl - this.pos < FGETS_MAX) return this.take(nl + 1, true);
      if (avail >= FGETS_MAX) return this.take(this.pos + FGETS_MAX, false);
      if (this.eof) {
        if (avail === 0) return null;
        return this.take(s.length, false);
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

  private take(stop: number, newline: boolean): RawRead {
    const s = this.s;
    const start = this.pos;
    if (this.nulPos < start) {
      const z = s.indexOf('\0', start);
      this.nulPos = z === -1 ? s.length : z;
    }
    this.pos = stop;
    let cut = newline ? stop - 1 : stop;
    if (this.nulPos < cut) {
      cut = this.nulPos;
      newline = false; // strlen() stops at the NUL: the '\n' is not seen
    }
    while (cut > start) {
      const c = s.charCodeAt(cut - 1);
      if (c !== 13 && c !== 10) break;
      cut--;
    }
    this.out.src = s;
    this.out.start = start;
    this.out.end = cut;
    this.out.newline = newline;
    return this.out;
  }

  private refill(): void {
    // latin1: one byte per character, so the unread tail of the previous chunk is still in
    // `buf` at the same offsets; move it to the front and read after it, then decode once
    // (a flat string: concatenating would give a cons string, slower to scan)
    const rest = this.s.length - this.pos;
    if (rest > 0) this.buf.copyWithin(0, this.pos, this.s.length);
    const n = readSync(this.fd, this.buf, rest, CHUNK - rest, null);
    if (n === 0) {
      this.eof = true;
      return;
    }
    this.s = this.buf.toString('latin1', 0, rest + n);
    this.pos = 0;
    this.nlPos = -1;
    this.nulPos = -1;
  }
}
