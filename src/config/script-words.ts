// keepalived's quoting rules for script-like values (keepalived.conf(5) "quoting"): words split on
// white space; '…' and "…" group; backslash escapes \a \b \E \f \n \r \t \v \NNN (octal) \xHH… (greedy,
// kept to 8 bits) \cC (control char) and \C = C. A script line is split twice: the whole line into
// keyword, command, user, group; then the command into argv.

const WHITE = ' \t\n\r\v\f';
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

export type SplitResult = { words: string[] } | { error: string };

function isHex(c: string | undefined): boolean {
  return c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/** Split `src` into words with the script quoting rules. */
export function splitQuotedEscaped(src: string): SplitResult {
  const words: string[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    while (i < n && WHITE.includes(src[i])) i++;
    if (i >= n) break;
    let out = '';
    let quote = '';
    while (i < n) {
      const c = src[i];
      if (c === '\\') {
        i++;
        if (i >= n) return { error: `Missing escape char at end: '${src}'` };
        const e = src[i];
        if (e === 'x' && isHex(src[i + 1])) {
          let v = 0;
          i++;
          while (isHex(src[i])) v = ((v << 4) | parseInt(src[i++], 16)) & 0xff;
          out += String.fromCharCode(v);
        } else if (e === 'c' && i + 1 < n) {
          out += String.fromCharCode(src.charCodeAt(i + 1) & 0x1f);
          i += 2;
        } else if (e >= '0' && e <= '7') {
          let v = src.charCodeAt(i++) - 48;
          for (let k = 0; k < 2 && src[i] >= '0' && src[i] <= '7'; k++) v = ((v << 3) + src.charCodeAt(i++) - 48) & 0xff;
          out += String.fromCharCode(v);
        } else {
          out += SIMPLE_ESCAPES[e] ?? e;
          i++;
        }
        continue;
      }
      if (quote) {
        if (c === quote) {
          quote = '';
          i++;
        } else {
          out += c;
          i++;
        }
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (WHITE.includes(c)) break;
      out += c;
      i++;
    }
    if (quote) return { error: `String '${src}': missing terminating ${quote}` };
    words.push(out);
  }
  return { words };
}
