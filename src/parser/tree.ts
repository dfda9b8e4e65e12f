// Builds the ConfNode tree from logical lines, iteratively (no recursion, so any nesting
// depth is fine). A '{' line opens a block on the line just before it; '}' closes it.
import type { ConfNode } from './ast.js';
import type { DiagnosticCode, SourceLoc } from './diagnostic.js';
import { tokenize } from './tokenize.js';

export type TreeReport = (message: string, severity: 'error' | 'warning', loc: SourceLoc, code?: DiagnosticCode) => void;

/** tskeepalived bound on the number of nodes (about 10x a 215,000-line configuration) */
export const MAX_NODES = 2_000_000;

export class TreeBuilder {
  /** number of nodes built */
  count = 0;
  readonly roots: ConfNode[] = [];
  private readonly open: ConfNode[] = [];
  /**
   * The children of all open blocks, innermost last; `starts[i]` is where those of `open[i]`
   * begin. A block gets its `children` when it closes, as an array of exactly their number
   * (grown by push(), it would keep room for 16 more: most blocks have one to three lines).
   */
  private readonly stack: ConfNode[] = [];
  private readonly starts: number[] = [];
  /** the node of the previous logical line, while it may still take a '{' block */
  private candidate: ConfNode | null = null;

  /**
   * Streaming: each top-level node goes here once complete (when the next top-level node
   * starts, or at finish()) instead of into `roots`. Returning false stops streaming
   * (`stopped` is set; the caller then stops reading).
   */
  private sink: ((node: ConfNode) => boolean) | null = null;
  /** the last top-level node, not yet given to the sink (it may still get a '{' block) */
  private pendingRoot: ConfNode | null = null;
  stopped = false;

  constructor(
    private readonly report: TreeReport,
    sink?: (node: ConfNode) => boolean,
  ) {
    if (sink) this.sink = sink;
  }

  private flushRoot(): void {
    const p = this.pendingRoot;
    if (p === null || this.sink === null) return;
    this.pendingRoot = null;
    if (!this.sink(p)) {
      this.sink = null;
      this.stopped = true;
    }
  }

  /** streaming: hand over the last top-level node */
  finish(): void {
    this.closeOpenBlocks();
    this.flushRoot();
  }

  /** at the end of the input: blocks still open get the children read so far (innermost first) */
  private closeOpenBlocks(): void {
    while (this.open.length > 0) this.endBlock();
  }

  /** the innermost open block gets its children; returns it */
  private endBlock(): ConfNode {
    const owner = this.open.pop()!;
    const start = this.starts.pop()!;
    owner.children = this.stack.slice(start);
    this.stack.length = start;
    return owner;
  }

  /** a logical line from the general path (already brace-split) */
  line(text: string, loc: SourceLoc): void {
    const t = tokenize(text);
    if (t.unmatchedQuote) this.report(`Unmatched quote: '${text}'`, 'error', loc);
    const words = t.words;
    if (words.length === 0) return;
    const first = words[0]!;
    if (first === '{' && text.charCodeAt(0) === 123) {
      this.openBrace(loc);
      return;
    }
    if (first === '}' && text.charCodeAt(0) === 125) {
      this.closeBrace(loc);
      return;
    }
    words.shift();
    this.add({ keyword: first, args: words, text, loc });
  }

  /** location of the last line seen */
  get lastLoc(): SourceLoc | null {
    return this.last ?? this.lastNode?.loc ?? null;
  }
  private last: SourceLoc | null = null;
  private lastNode: ConfNode | null = null;

  add(node: ConfNode): void {
    this.lastNode = node;
    this.last = null;
    this.count++;
    if (this.open.length !== 0) this.stack.push(node);
    else if (this.sink !== null) {
      this.flushRoot();
      this.pendingRoot = node;
    } else this.roots.push(node);
    this.candidate = node;
  }

  openBrace(loc: SourceLoc): void {
    this.last = loc;
    this.lastNode = null;
    const owner = this.candidate;
    this.candidate = null;
    if (owner === null) {
      this.report("Unexpected '{' - ignoring", 'error', loc, 'BLOCK_UNEXPECTED_OPEN');
      return;
    }
    owner.openLoc = loc;
    this.open.push(owner);
    this.starts.push(this.stack.length);
  }

  /** '}': closes the open block, or is kept as a top-level '}' node (keepalived: Unknown keyword '}') */
  closeBrace(loc: SourceLoc): void {
    this.last = loc;
    this.lastNode = null;
    if (this.open.length === 0) {
      this.add({ keyword: '}', args: [], text: '}', loc });
      this.candidate = null;
      return;
    }
    this.candidate = null;
    this.endBlock().endLoc = loc;
  }

  get openBlocks(): number {
    return this.open.length;
  }
}
