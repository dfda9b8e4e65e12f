// The child pass's view of the consolidated copy: fgets() semantics again (1023-byte
// reads), "# FILE" / "!" markers that push and pop file names and line counters, and
// "#! message" lines (reported by the parent only).
import { dirname, resolve } from 'node:path';
import { FGETS_MAX, type PhysicalRead } from './physical.js';
import { isIncludeLine, type LineSource } from './reader.js';

interface ChildFile {
  name: string;
  lineNo: number;
  savedCwd: string | null;
}

export class CopySource implements LineSource {
  private idx = 0;
  private pending: string | null = null;
  private pendingPos = 0;
  private readonly stack: ChildFile[];
  private dir: string;

  /**
   * @param copy the copy lines, filled by `pull` on demand
   * @param pull asks the parent pass for more copy lines; false when it has finished
   */
  constructor(
    private readonly copy: string[],
    private readonly pull: () => boolean,
    topName: string,
    cwd: string,
  ) {
    this.stack = [{ name: topName, lineNo: 0, savedCwd: null }];
    this.dir = cwd;
  }

  where(): { file: string; line: number } {
    const top = this.stack[this.stack.length - 1]!;
    return { file: top.name, line: top.lineNo };
  }

  cwd(): string {
    return this.dir;
  }

  decommented(): void {}
  emptyLine(): void {}

  /** keepalived's children would open such a file again; its text is already inlined */
  include(buf: string): boolean {
    return isIncludeLine(buf) >= 0;
  }

  /** no copy line waiting (the fast path may then read the files directly) */
  isEmpty(): boolean {
    return this.pending === null && this.idx >= this.copy.length;
  }

  /** handle queued "# FILE" / "!" / "#! msg" marker lines; false if a normal line is queued */
  drainMarkers(): boolean {
    while (this.pending === null && this.idx < this.copy.length) {
      const line = this.copy[this.idx]!;
      const c0 = line.charCodeAt(0);
      if (c0 !== 35 && c0 !== 33) return false;
      if (line.length + 1 > FGETS_MAX) return false;
      this.idx++;
      if (c0 === 33) this.closeMarker();
      else if (line.charCodeAt(1) !== 33) this.openMarker(line.slice(2));
    }
    if (this.idx >= this.copy.length && this.idx > 1024) {
      this.copy.length = 0;
      this.idx = 0;
    }
    return this.pending === null && this.idx >= this.copy.length;
  }

  /** the fast path consumed one copy line (it never wrote it); returns its line number */
  countLine(): number {
    return ++this.stack[this.stack.length - 1]!.lineNo;
  }

  fileName(): string {
    return this.stack[this.stack.length - 1]!.name;
  }

  private nextCopyLine(): string | null {
    while (this.idx >= this.copy.length) {
      if (this.idx > 1024) {
        this.copy.length = 0;
        this.idx = 0;
      }
      if (!this.pull() && this.idx >= this.copy.length) return null;
    }
    return this.copy[this.idx++]!;
  }

  read(): PhysicalRead | null {
    for (;;) {
      let text: string;
      let newline: boolean;
      if (this.pending === null) {
        const line = this.nextCopyLine();
        if (line === null) return null;
        this.pending = line;
        this.pendingPos = 0;
      }
      const rest = this.pending.length - this.pendingPos;
      if (rest + 1 > FGETS_MAX) {
        text = this.pending.slice(this.pendingPos, this.pendingPos + FGETS_MAX);
        this.pendingPos += FGETS_MAX;
        newline = false;
      } else {
        text = this.pendingPos === 0 ? this.pending : this.pending.slice(this.pendingPos);
        this.pending = null;
        newline = true;
      }
      const c0 = text.charCodeAt(0);
      if (c0 === 35) {
        if (text.charCodeAt(1) !== 33) this.openMarker(newline ? text.slice(2) : text.slice(2, -1));
        continue;
      }
      if (c0 === 33) {
        this.closeMarker();
        continue;
      }
      if (newline) this.stack[this.stack.length - 1]!.lineNo++;
      let end = text.length;
      while (end > 0 && (text.charCodeAt(end - 1) === 13 || text.charCodeAt(end - 1) === 10)) end--;
      return { text: end === text.length ? text : text.slice(0, end), newline };
    }
  }

  private openMarker(name: string): void {
    const entry: ChildFile = { name, lineNo: 0, savedCwd: null };
    if (name.includes('/')) {
      entry.savedCwd = this.dir;
      this.dir = dirname(resolve(this.dir, name));
    }
    this.stack.push(entry);
  }

  private closeMarker(): void {
    if (this.stack.length <= 1) return;
    const e = this.stack.pop()!;
    if (e.savedCwd !== null) this.dir = e.savedCwd;
  }
}
