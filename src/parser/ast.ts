// The contract between the reader/parser (src/parser) and the config builder (src/config).
//
// The parser applies keepalived's line-oriented semantics (decomment, include, @conditionals,
// $DEFINITIONS, ~SEQ, brace splitting, tokenizing) and returns a tree of generic nodes:
// one node per logical line, with `children` when a `{ ... }` block followed it.
// It knows nothing about keyword meanings; the config builder interprets the tree.

import type { Diagnostic, SourceLoc } from '../config/model.js';

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
}
