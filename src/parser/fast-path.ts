// The hot path. Most configuration lines need none of keepalived's line machinery: no
// quotes, comments, escapes, $, @, ~ or include. When both passes are idle such a line is
// turned into nodes directly: split at braces, split into words, no copy line written.
// The result is exactly what the two-pass path gives for it (the tests check both).
import type { CopySource } from './copy-source.js';
import type { LineReader } from './reader.js';
import type { TreeBuilder } from './tree.js';
import { LazyNode } from './lazy-node.js';

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

/** 1 for the characters the fast path's scan must look at: # ! " $ \ { } and controls but tab */
const SPECIAL = new Uint8Array(256);
for (let c = 0; c < 32; c++) if (c !== 9) SPECIAL[c] = 1;
for (const ch of '#!"$\\{}') SPECIAL[ch.charCodeAt(0)] = 1;

/** longest line the fast path takes (longer ones may be split by fgets in the child pass) */
const FAST_MAX = 1000;

export class FastPath {
  constructor(
    private readonly tree: TreeBuilder,
    private readonly child: LineReader,
    private readonly copy: CopySource,
    private readonly scope: ParentScope,
  ) {}

  /** Handle the physical line src[from, to) if it is plain; false (nothing done) otherwise. */
  line(src: string, from: number, to: number): boolean {
    // (small functions: each is optimized soon after the start, while one large one compiled
    // late and ran slowly in the meantime)
    if (to - from > FAST_MAX) return false;
    const start = skipBlanks(src, from, to);
    if (start < to && !plainStart(src, start)) return false;
    const scan = scanPlain(src, start, to);
    if (scan < 0) return false;
    const end = scan >> 1;
    // the child pass counts one copy line per physical read
    const lineNo = this.copy.countLine();
    if (start === end) return true;
    const file = this.copy.fileName();
    if ((scan & 1) === 0) this.words(src, start, trimEnd(src, start, end), file, lineNo);
    else this.segments(src, start, end, file, lineNo);
    return true;
  }

  /** a plain line with braces: its segments and braces in order */
  private segments(src: string, start: number, to: number, file: string, lineNo: number): void {
    const loc = { file, line: lineNo };
    let i = start;
    for (;;) {
      let b = i;
      while (b < to) {
        const c = src.charCodeAt(b);
        if (c === 123 || c === 125) break;
        b++;
      }
      const e = trimEnd(src, i, b);
      if (e > i) this.words(src, i, e, file, lineNo);
      if (b >= to) break;
      if (src.charCodeAt(b) === 123) {
        this.child.blockDepth++;
        this.scope.open();
        this.tree.openBrace(loc);
      } else {
        this.child.closeBrace();
        this.scope.close();
        this.tree.closeBrace(loc);
      }
      i = skipBlanks(src, b + 1, to);
      if (i >= to) break;
    }
  }

  /** one segment src[s, e) (no leading/trailing blanks) -> a node */
  private words(src: string, s: number, e: number, file: string, line: number): void {
    let i = s;
    while (i < e && !isWhite(src.charCodeAt(i))) i++;
    if (this.scope.depth === 0) this.scope.keyword(src.slice(s, i));
    this.tree.add(new LazyNode(src, s, i, e, file, line));
  }
}

function skipBlanks(src: string, i: number, to: number): number {
  while (i < to) {
    const c = src.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

function trimEnd(src: string, start: number, e: number): number {
  while (e > start) {
    const c = src.charCodeAt(e - 1);
    if (c !== 32 && c !== 9) break;
    e--;
  }
  return e;
}

/**
 * Scans src[start, to) for what the fast path cannot take. -1: the general path is needed;
 * else (end << 1) | braces, `end` being where a comment cuts the line (else `to`) and `braces`
 * 1 when the line has { or }.
 */
function scanPlain(src: string, start: number, to: number): number {
  let braces = 0;
  for (let i = start; i < to; i++) {
    const c = src.charCodeAt(i);
    // (one table look-up for the common character; the text is latin1: codes < 256)
    if (SPECIAL[c] === 0) continue;
    if (c === 35 || c === 33) {
      // a comment: the line ends here, unless a '\' follows (keepalived keeps a final '\')
      for (let j = i + 1; j < to; j++) if (src.charCodeAt(j) === 92) return -1;
      return (i << 1) | braces;
    }
    // the other special characters (" $ \ and controls) need the general path
    if (c !== 123 && c !== 125) return -1;
    // { or }: what follows it must not need the general path either
    braces = 1;
    const j = skipBlanks(src, i + 1, to);
    if (j < to && !plainStart(src, j)) return -1;
  }
  return (to << 1) | braces;
}

/** a segment starting here needs the general path if it starts with @, ~, $ or "include" */
function plainStart(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 64 || c === 126 || c === 36) return false;
  if (c === 105 && text.startsWith('include', i)) return false;
  return true;
}
