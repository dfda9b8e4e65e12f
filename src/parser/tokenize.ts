// keepalived's general tokenizer (alloc_strvec_r): words split on " \t\f\n\r\v";
// "..." is one word with the quotes removed (no escapes); a '"' inside a word ends it.
// Words are copies (detachedSlice): the line is a view of a 64 KB chunk of the file.
import { detachedSlice } from './intern.js';

export interface TokenizeResult {
  words: string[];
  /** set when a '"' was not closed: keepalived reports "Unmatched quote: '<line>'" */
  unmatchedQuote: boolean;
}

function isWhite(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

export function tokenize(line: string): TokenizeResult {
  const words: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    while (i < n && isWhite(line.charCodeAt(i))) i++;
    if (i >= n) break;
    if (line.charCodeAt(i) === 34) {
      const close = line.indexOf('"', i + 1);
      if (close === -1) return { words, unmatchedQuote: true };
      words.push(detachedSlice(line, i + 1, close));
      i = close + 1;
    } else {
      const start = i;
      while (i < n) {
        const c = line.charCodeAt(i);
        if (c === 34 || isWhite(c)) break;
        i++;
      }
      words.push(detachedSlice(line, start, i));
    }
  }
  return { words, unmatchedQuote: false };
}
