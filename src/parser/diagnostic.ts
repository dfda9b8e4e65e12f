// What the reader reports and where: the source location every node and diagnostic carries, and
// the diagnostic itself. The parser produces these; src/config adds its own and re-exports the
// types from its model, so config's users need not know where they live.

export interface SourceLoc {
  file: string;
  line: number;
}

/**
 * A SourceLoc the model keeps per real server, checker and url: one small integer (the file's index
 * in a table of file names, shifted, plus the line) instead of a {file, line} object (40 bytes,
 * three per real server); a SourceLoc object when it does not fit (more than 1,023 files or a
 * line past 2,097,151). Read it with unpackLoc.
 */
export type PackedLoc = number | SourceLoc;

const LINE_BITS = 21;
const MAX_LINE = (1 << LINE_BITS) - 1;
const MAX_FILES = 1023;
/** the file names of packed locations, each once (config files: a handful, kept for the process's life) */
const files: string[] = [];
const fileIndex = new Map<string, number>();

export function packLoc(loc: SourceLoc): PackedLoc {
  if (loc.line < 0 || loc.line > MAX_LINE || !Number.isInteger(loc.line)) return loc;
  let f = fileIndex.get(loc.file);
  if (f === undefined) {
    if (files.length >= MAX_FILES) return loc;
    f = files.length;
    files.push(loc.file);
    fileIndex.set(loc.file, f);
  }
  return f * (MAX_LINE + 1) + loc.line;
}

export function unpackLoc(loc: PackedLoc): SourceLoc {
  if (typeof loc !== 'number') return loc;
  return { file: files[Math.floor(loc / (MAX_LINE + 1))]!, line: loc & MAX_LINE };
}

/**
 * keepalived -t exit classes: 'fatal' -> rc 4 (cannot run); 'error' and 'warning' -> rc 5;
 * 'security' -> rc 6 (scripts without enable_script_security); 'info' -> no effect on rc.
 */
export type Severity = 'fatal' | 'error' | 'warning' | 'security' | 'info';

/**
 * What a diagnostic means, for code that decides on it (the message is keepalived's wording):
 * the file's block structure is broken by an unclosed '{', an extra '}' or a '{' nothing opens.
 */
export type DiagnosticCode = 'BLOCK_UNCLOSED' | 'BLOCK_EXTRA_CLOSE' | 'BLOCK_UNEXPECTED_OPEN';

export interface Diagnostic {
  severity: Severity;
  message: string;
  file?: string;
  line?: number;
  code?: DiagnosticCode;
  /**
   * The exact line keepalived -t prints for it, location prefix included
   * ("(FILE: Line N) msg", "(Line N) msg" or just "msg"), when the producer knows it.
   */
  keepalivedText?: string;
}
