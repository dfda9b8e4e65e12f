// A node made by the fast path. To keep the hot path light (and the garbage collector
// idle), it keeps a reference to the decoded chunk and offsets: `text`, `args` and `loc`
// are computed on access (each access returns a fresh value; treat nodes as read-only).
// JSON.stringify() gives the same plain shape as any other ConfNode.
import type { SourceLoc } from './diagnostic.js';
import type { ConfNode } from './ast.js';
import { detachedSlice, internSlice } from './intern.js';

function isWhite(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

export class LazyNode implements ConfNode {
  declare children?: ConfNode[];
  declare openLoc?: SourceLoc;
  declare endLoc?: SourceLoc;
  /** the first word, shared with every other node of the same keyword */
  readonly keyword: string;
  readonly #src: string;
  readonly #start: number;
  /** text length * 1024 + keyword length (both < 1024: fast-path lines are short) */
  readonly #lengths: number;
  readonly #file: string;
  readonly #line: number;

  /**
   * src[start, end) is the line text, with no blanks at either end; src[start, kwEnd) is
   * its first word. Only small numbers and shared references are stored.
   */
  constructor(src: string, start: number, kwEnd: number, end: number, file: string, line: number) {
    this.keyword = internSlice(src, start, kwEnd);
    this.#src = src;
    this.#start = start;
    this.#lengths = (end - start) * 1024 + (kwEnd - start);
    this.#file = file;
    this.#line = line;
    // set here so that every node has one shape, with these fields in the object itself
    // (added later, they would need a separate property store per block node)
    this.children = undefined;
    this.openLoc = undefined;
    this.endLoc = undefined;
  }

  get text(): string {
    return this.#src.slice(this.#start, this.#start + (this.#lengths >> 10));
  }

  get args(): string[] {
    const src = this.#src;
    const e = this.#start + (this.#lengths >> 10);
    let i = this.#start + (this.#lengths & 1023);
    // most lines have one or two arguments: build those arrays at their exact size (an
    // empty array grown by push() gets room for 17 elements, garbage on the large-config path)
    let a: string | undefined;
    let b: string | undefined;
    let args: string[] | undefined;
    for (;;) {
      while (i < e && isWhite(src.charCodeAt(i))) i++;
      if (i >= e) break;
      const w = i;
      while (i < e && !isWhite(src.charCodeAt(i))) i++;
      // a word of 13+ characters would otherwise be a view keeping the whole chunk alive
      const word = i - w < 13 ? src.slice(w, i) : detachedSlice(src, w, i);
      if (a === undefined) a = word;
      else if (b === undefined) b = word;
      else if (args === undefined) args = [a, b, word];
      else args.push(word);
    }
    if (args !== undefined) return args;
    if (b !== undefined) return [a!, b];
    if (a !== undefined) return [a];
    return [];
  }

  get loc(): SourceLoc {
    return { file: this.#file, line: this.#line };
  }

  toJSON(): object {
    const o: Record<string, unknown> = { keyword: this.keyword, args: this.args, text: this.text, loc: this.loc };
    if (this.children !== undefined) o.children = this.children;
    if (this.openLoc !== undefined) o.openLoc = this.openLoc;
    if (this.endLoc !== undefined) o.endLoc = this.endLoc;
    return o;
  }
}
