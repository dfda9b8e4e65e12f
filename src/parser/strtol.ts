// C strtol(str, &end, 0): leading white space, optional sign, 0x/0X hex, leading 0 octal.
// With no digits the value is 0 and `end` is the start. Values clamp like LONG_MIN/LONG_MAX.

export interface StrtolResult {
  value: number;
  end: number;
}

const LONG_MAX = 2 ** 63; // LONG_MAX (2^63 - 1) as the nearest double, as strtol's clamped value reads

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

export function strtol0(s: string, start: number): StrtolResult {
  let p = start;
  const n = s.length;
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c === 32 || (c >= 9 && c <= 13)) p++;
    else break;
  }
  let neg = false;
  if (s[p] === '+' || s[p] === '-') {
    neg = s[p] === '-';
    p++;
  }
  let base = 10;
  if (s[p] === '0') {
    if ((s[p + 1] === 'x' || s[p + 1] === 'X') && digitValue(s.charCodeAt(p + 2)) < 16) {
      base = 16;
      p += 2;
    } else base = 8;
  }
  const digitsStart = p;
  let value = 0;
  while (p < n) {
    const d = digitValue(s.charCodeAt(p));
    if (d >= base) break;
    value = value * base + d;
    p++;
  }
  if (p === digitsStart) return { value: 0, end: start };
  if (value > LONG_MAX) value = LONG_MAX;
  return { value: neg ? -value : value, end: p };
}
