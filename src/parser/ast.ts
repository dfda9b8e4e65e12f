// The contract between the reader/parser (src/parser) and the config builder (src/config).
//
// The parser applies keepalived's line-oriented semantics (decomment, include, @conditionals,
// $DEFINITIONS, ~SEQ, brace splitting, tokenizing) and returns a tree of generic nodes:
// one node per logical line, with `children` when a `{ ... }` block followed it.
// It knows nothing about keyword meanings; the config builder interprets the tree.
//
// Tree rules (keepalived decides these per keyword; the parser cannot, so the builder must):
// - braces always stand alone after splitting; a '{' opens a block on the logical line just
//   before it (same physical line or the next one). A '{' with no such line (start of a
//   block, right after a '}' or another block) is reported "Unexpected '{' - ignoring" and
//   its lines stay at the current level; its '}' then closes the enclosing block, as in
//   keepalived.
// - a '}' with no open block is kept as a top-level node with keyword '}' (keepalived:
//   "Extra '}' found" from the parser, then "Unknown keyword '}'" from the builder).
// - a keyword that takes no block but got one (keepalived: "Unexpected '{' - ignoring" at
//   openLoc, then the block's lines are read at the same level and its '}' ends the
//   enclosing block) and a block keyword without '{' ("Missing '{' at beginning of
//   configuration block") are for the builder to report.
// - nodes are read-only: on the fast path `keyword`, `args`, `text` and `loc` are computed on
//   access from the file text (each access returns a fresh value); JSON.stringify gives the
//   plain shape. Children arrays, openLoc and endLoc are ordinary properties.

import type { Diagnostic, SourceLoc } from './diagnostic.js';

export interface ConfNode {
  /** first word of the logical line (case-sensitive, as keepalived matches it) */
  keyword: string;
  /** the remaining words, split by the general tokenizer ("..." = one word, quotes removed) */
  args: string[];
  /**
   * The logical line text after decomment and substitution, before tokenizing
   * (for script-like values, which keepalived re-splits with its script quoting rules).
   */
  text: string;
  /**
   * where keepalived's child processes see the line: `file` is the path as keepalived
   * prints it (the -f argument or the include glob result, relative if it was), `line`
   * counts the lines of that file as keepalived counts them (see parser rules §1).
   */
  loc: SourceLoc;
  /** present when this line opened a `{ ... }` block */
  children?: ConfNode[];
  /** location of the opening brace (same line, or the next line when '{' stood alone) */
  openLoc?: SourceLoc;
  /** location of the closing brace, when the block was closed */
  endLoc?: SourceLoc;
}

export interface ParseOptions {
  /** for @ID / @^ID lines and ${_INSTANCE}; default: host name up to the first '.' */
  configId?: string;
  /** working directory against which the top file and its relative includes resolve; default process.cwd() */
  cwd?: string;
  /** keepalived -e / --all-config: every include problem is an error (include_check with all types) */
  includeCheckAll?: boolean;
  /** testing aid: send every line through the general (two-pass) path */
  disableFastPath?: boolean;
  /**
   * Streaming: each top-level node is given here once complete, and not kept in `nodes`.
   * Returning false stops reading: the result then has `streamStopped` set and is incomplete.
   */
  onRoot?: (node: ConfNode) => boolean;
}

export interface ParseResult {
  /** top-level nodes */
  nodes: ConfNode[];
  /** lexical/structural diagnostics: unbalanced braces, include errors, bad ~SEQ, ... */
  diagnostics: Diagnostic[];
  /** every file read, absolute paths, in reading order */
  files: string[];
  /**
   * Set when keepalived -t would stop right after reading the files, with this exit code:
   * 0 when the top file is missing / a directory / not a regular non-executable file
   * (keepalived prints the message and exits 0), 6 when an include or open problem is an
   * error (include types m/w/b/a, include_check, -e): keepalived then exits 6 without
   * building the VRRP/checker configuration.
   */
  stopRc?: number;
  /** set when onRoot returned false: reading stopped early, nodes and diagnostics are incomplete */
  streamStopped?: boolean;
}
