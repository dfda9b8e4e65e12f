// What the reader reports and where: the source location every node and diagnostic carries, and
// the diagnostic itself. The parser produces these; src/config adds its own and re-exports the
// types from its model, so config's users need not know where they live.

export interface SourceLoc {
  file: string;
  line: number;
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
