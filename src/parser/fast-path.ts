// The hot path. Most configuration lines need none of keepalived's line machinery: no
// quotes, comments, escapes, $, @, ~ or include. When both passes are idle such a line is
// turned into nodes directly: split at braces, split into words, no copy line written.
// The result is exactly what the two-pass path gives for it (the tests check both).
import type { CopySource } from './copy-source.js';
import type { LineReader } from './reader.js';
import type { TreeBuilder } from './tree.js';

/** the parent pass's view of blocks, for include_check inside global_defs */
export class ParentScope {
  depth = 0;
  private topKeyword = '';
  private block = '';

  /** a logical line of the parent pass; true when it is an include_check to apply */
  line(line: string): boolean {
    if (line === '{') this.open();
    else if (line === '}') this.close();
    else if (this.depth === 0) this.topKeyword = firstWord(line);
    else if (this.depth === 1 && this.block === 'global_defs' && line.startsWith('include_check')) {
      return firstWord(line) === 'include_check';
    }
    return false;
  }

  open(): void {
    if (this.depth === 0) this.block = this.topKeyword;
    this.depth++;
  }

  close(): void {
    if (this.depth > 0) this.depth--;
  }

  keyword(word: string): void {
    if (this.depth === 0) this.topKeyword = word;
  }
}

function firstWord(line: string): string {
  let i = 0;
  while (i < line.length && isWhite(line.charCodeAt(i))) i++;
  let j = i;
  while (j < line.length && !isWhite(line.charCodeAt(j)) && line.charCodeAt(j) !== 34) j++;
  return line.slice(i, j);
}

function isWhite(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** longest line the fast path takes (longer ones may be split by fgets in the child pass) */
const FAST_MAX = 1000;

export class FastPath {
  constructor(
    private readonly tree: TreeBuilder,
    private readonly child: LineReader,
    private readonly copy: CopySource,
    private readonly scope: ParentScope,
  ) {}

  /** Handle one physical line if it is plain; false (nothing done) otherwise. */
  line(text: string): boolean {
    const n = text.length;
    if (n > FAST_MAX) return false;
    let start = 0;
    while (start < n) {
      const c = text.charCodeAt(start);
      if (c !== 32 && c !== 9) break;
      start++;
    }
    if (start < n && !plainStart(text, start)) return false;
    for (let i = start; i < n; i++) {
      const c = text.charCodeAt(i);
      // " # ! $ \ need the general path
      if (c === 34 || c === 35 || c === 33 || c === 36 || c === 92) return false;
      if (c === 123 || c === 125) {
        let j = i + 1;
        while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
        if (j < n && !plainStart(text, j)) return false;
      }
    }
    // the child pass counts one copy line per physical read
    this.copy.countLine();
    if (start === n) return true;
    const loc = this.copy.where();
    let i = start;
    for (;;) {
      let b = i;
      while (b < n) {
        const c = text.charCodeAt(b);
        if (c === 123 || c === 125) break;
        b++;
      }
      let e = b;
      while (e > i && (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--;
      if (e > i) this.words(text, i, e, loc);
      if (b >= n) break;
      if (text.charCodeAt(b) === 123) {
        this.child.blockDepth++;
        this.scope.open();
        this.tree.openBrace(loc);
      } else {
        this.child.closeBrace();
        this.scope.close();
        this.tree.closeBrace(loc);
      }
      i = b + 1;
      while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
      if (i >= n) break;
    }
    return true;
  }

  private words(text: string, s: number, e: number, loc: { file: string; line: number }): void {
    const seg = s === 0 && e === text.length ? text : text.slice(s, e);
    let i = 0;
    const n = seg.length;
    while (i < n && !isWhite(seg.charCodeAt(i))) i++;
    const keyword = i === n ? seg : seg.slice(0, i);
    const args: string[] = [];
    for (;;) {
      while (i < n && isWhite(seg.charCodeAt(i))) i++;
      if (i >= n) break;
      const w = i;
      while (i < n && !isWhite(seg.charCodeAt(i))) i++;
      args.push(seg.slice(w, i));
    }
    this.scope.keyword(keyword);
    this.tree.add({ keyword, args, text: seg, loc: { file: loc.file, line: loc.line } });
  }
}

/** a segment starting here needs the general path if it starts with @, ~, $ or "include" */
function plainStart(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 64 || c === 126 || c === 36) return false;
  if (c === 105 && text.startsWith('include', i)) return false;
  return true;
}
