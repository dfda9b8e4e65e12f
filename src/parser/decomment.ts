// keepalived's decomment(): strip leading blanks, cut at the first '#' or '!' outside "...",
// turn `\#` / `\!` (outside quotes) into the plain character, treat a final `\` as a
// continuation marker (kept, with the blanks before it removed), strip trailing blanks.

export interface DecommentResult {
  text: string;
  /** a '"' was left open; keepalived reports "Unterminated quote '<text>'" */
  openQuote: string | null;
}

const SPACE = 32,
  TAB = 9,
  QUOTE = 34,
  HASH = 35,
  BANG = 33,
  BACKSLASH = 92;

function trimBlanksEnd(s: string, end: number): number {
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c !== SPACE && c !== TAB) break;
    end--;
  }
  return end;
}

/** Reusable result to keep the hot path allocation-free. */
const out: DecommentResult = { text: '', openQuote: null };

export function decomment(line: string): DecommentResult {
  const n = line.length;
  let start = 0;
  while (start < n) {
    const c = line.charCodeAt(start);
    if (c !== SPACE && c !== TAB) break;
    start++;
  }
  // Fast path: no character that needs attention
  let i = start;
  for (; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE || c === HASH || c === BANG || c === BACKSLASH) break;
  }
  out.openQuote = null;
  if (i === n) {
    const end = trimBlanksEnd(line, n);
    out.text = start === 0 && end === n ? line : line.slice(start, end);
    return out;
  }
  let text = '';
  let segStart = start;
  let quote = false;
  let cut = -1;
  let cont = false;
  for (; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      if (cut < 0) quote = !quote;
    } else if (c === BACKSLASH) {
      if (i + 1 < n) {
        const d = line.charCodeAt(i + 1);
        if (!quote && (d === HASH || d === BANG)) {
          text += line.slice(segStart, i);
          segStart = i + 1;
        }
        i++;
      } else {
        text += line.slice(segStart, i);
        segStart = n;
        cont = true;
        break;
      }
    } else if ((c === HASH || c === BANG) && !quote && cut < 0) {
      cut = text.length + (i - segStart);
    }
  }
  if (segStart < n) text += line.slice(segStart, n);
  if (quote) out.openQuote = text;
  if (cut >= 0) text = text.slice(0, cut);
  text = text.slice(0, trimBlanksEnd(text, text.length));
  if (cont) text += '\\';
  out.text = text;
  return out;
}
