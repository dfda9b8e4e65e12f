// Value readers with keepalived's acceptance rules and messages (numbers, decimals, booleans).
// Each reader reports through the context and returns undefined when the value is rejected.
import type { ConfNode } from '../parser/ast.js';
import type { BuildContext } from './context.js';

const WS = ' \t\n\r\v\f';

/** C strtol/strtoul-like parse of an integer in base 10 (or 0 = auto); returns [value, rest-is-empty]. */
function parseCInt(text: string, base: 0 | 10): { value: number; ok: boolean } {
  let i = 0;
  while (i < text.length && WS.includes(text[i])) i++;
  let neg = false;
  if (text[i] === '+' || text[i] === '-') {
    neg = text[i] === '-';
    i++;
  }
  let radix = 10;
  if (base === 0 && text[i] === '0') {
    if ((text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
      radix = 16;
      i += 2;
    } else radix = 8;
  }
  const start = i;
  let value = 0;
  for (; i < text.length; i++) {
    const d = parseInt(text[i], radix);
    if (Number.isNaN(d)) break;
    value = value * radix + d;
  }
  // strtol with no digits: endptr = start of string -> the whole string is "rest"
  if (i === start && radix !== 8) return { value: 0, ok: text.length === 0 };
  return { value: neg ? -value : value, ok: i === text.length };
}

/** A short run of decimal digits (the common case), or -1. */
function plainDigits(word: string): number {
  const len = word.length;
  if (len === 0 || len > 9) return -1;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const c = word.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

export interface NumOpts {
  base?: 0 | 10;
}

/** keepalived read_int_strvec: signed integer in [min, max]. */
export function readInt(ctx: BuildContext, node: ConfNode, word: string, min: number, max: number, o?: NumOpts): number | undefined {
  const quick = plainDigits(word);
  if (quick !== -1 && quick >= min && quick <= max && o?.base !== 0) return quick;
  const { value, ok } = parseCInt(word, o?.base ?? 10);
  if (!ok) ctx.error(node, `invalid number '${word}'`);
  else if (value < -2147483648 || value > 2147483647) ctx.error(node, `number '${word}' outside integer range`);
  else if (value < min || value > max) ctx.error(node, `number '${word}' outside range [${min}, ${max}]`);
  else return value;
  return undefined;
}

/** keepalived read_unsigned_strvec: unsigned integer in [min, max]. */
export function readUnsigned(ctx: BuildContext, node: ConfNode, word: string, min: number, max: number, o?: NumOpts): number | undefined {
  const quick = plainDigits(word);
  if (quick !== -1 && quick >= min && quick <= max && o?.base !== 0) return quick;
  let off = 0;
  while (off < word.length && WS.includes(word[off])) off++;
  const { value, ok } = parseCInt(word.slice(off), o?.base ?? 10);
  if (word[off] === '-') ctx.error(node, `negative number '${word}'`);
  else if (!ok) ctx.error(node, `invalid number '${word}'`);
  else if (value > 4294967295) ctx.error(node, `number '${word}' outside unsigned integer range`);
  else if (value < min || value > max) ctx.error(node, `number '${word}' outside range [${min}, ${max}]`);
  else return value;
  return undefined;
}

/**
 * keepalived read_decimal_unsigned: a non-negative decimal with at most `shift` decimal places,
 * returned scaled by 10^shift. min/max are in scaled units.
 */
export function readDecimal(ctx: BuildContext, node: ConfNode, word: string, min: number, max: number, shift: number): number | undefined {
  // fast path: a short plain integer
  const len = word.length;
  if (len > 0 && len < 10) {
    let v = 0;
    let i = 0;
    for (; i < len; i++) {
      const c = word.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    if (i === len) {
      const scaled = v * 10 ** shift;
      if (scaled >= min && scaled <= max) return scaled;
    }
  }
  if (word[0] === '-') {
    ctx.error(node, `negative number '${word}'`);
    return undefined;
  }
  const dot = word.indexOf('.');
  const intPart = dot >= 0 ? word.slice(0, dot) : word;
  let frac = dot >= 0 ? word.slice(dot + 1) : '';
  let roundUp = false;
  if (frac.length > shift) {
    ctx.error(node, `number '${word}' has too many decimal places`);
    roundUp = frac[shift] >= '5';
    frac = frac.slice(0, shift);
  }
  const digits = intPart + frac + '0'.repeat(shift - frac.length);
  const { value: v0, ok } = parseCInt(digits, 10);
  const value = v0 + (roundUp ? 1 : 0);
  const scale = 10 ** shift;
  if (!ok) {
    ctx.error(node, `invalid number '${word}'`);
    return undefined;
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    ctx.error(node, `number '${word}' outside unsigned decimal range`);
    return undefined;
  }
  if (value < min || value > max) {
    const fmt = (n: number) => `${Math.floor(n / scale)}.${String(n % scale).padStart(shift, '0')}`;
    ctx.error(node, `number '${word}' outside range [${fmt(min)}, ${fmt(max)}]`);
    return undefined;
  }
  return value;
}

/** keepalived read_timer: seconds with microsecond resolution, returned in MILLISECONDS. */
export function readTimerMs(ctx: BuildContext, node: ConfNode, word: string, minUs = 0, maxUs = Number.MAX_SAFE_INTEGER): number | undefined {
  const us = readDecimal(ctx, node, word, minUs, maxUs, 6);
  if (us === undefined) return undefined;
  const ms = us / 1000;
  // a whole number of ms as a small integer: a double would make V8 box the field holding it
  return ms <= 0x3fffffff && ms === Math.floor(ms) ? ms | 0 : ms;
}

/** on/true/yes -> true, off/false/no -> false, else undefined. */
export function trueFalse(word: string): boolean | undefined {
  if (word === 'true' || word === 'on' || word === 'yes') return true;
  if (word === 'false' || word === 'off' || word === 'no') return false;
  return undefined;
}

/** keepalived get_value_bool-style optional boolean argument: absent = true. */
export function readOptionalBool(ctx: BuildContext, node: ConfNode, idx = 0): boolean | undefined {
  const w = node.args[idx];
  if (w === undefined) return true;
  const b = trueFalse(w);
  if (b === undefined) ctx.error(node, `Invalid value '${w}' for ${node.keyword} - ignoring`);
  return b;
}
