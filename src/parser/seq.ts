// ~SEQ(var, [start,] [step,] end) and ~LST(var|{v1,v2..}, value|{a,b..}, ...) line
// generators (keepalived's add_seq / add_lst), as plain data the reader iterates.
import { strtol0 } from './strtol.js';

/** keepalived copies the ~SEQ arguments into a 64-byte buffer */
export const SEQ_ARGS_MAX = 64;
/** tskeepalived bound: a single ~SEQ may not generate more lines than this */
export const SEQ_MAX_VALUES = 100_000;

export interface SeqGen {
  kind: 'seq';
  variable: string;
  next: number;
  step: number;
  last: number;
  hex: boolean;
  text: string;
}

export interface LstGen {
  kind: 'lst';
  variables: string[];
  sets: string[][];
  nextSet: number;
  text: string;
}

export type Generator = SeqGen | LstGen;

/** errors are reported with keepalived's wording; `spec` adds "Invalid ~SEQ specification" */
export interface GenError {
  messages: string[];
}

function skipBlanks(s: string, p: number): number {
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c !== 32 && c !== 9) break;
    p++;
  }
  return p;
}

function skipUntil(s: string, p: number, stops: string): number {
  while (p < s.length && !stops.includes(s[p]!)) p++;
  return p;
}

/**
 * Parse a `~SEQ` line. `substitute` applies $definitions to the argument text
 * within the 64-byte limit (returns null when it would not fit).
 */
export function parseSeq(line: string, substitute: (args: string) => string): SeqGen | GenError {
  const invalidSpec = `Invalid ~SEQ specification '${line}'`;
  const invalidDef = `Invalid ~SEQ definition '${line}'`;
  let p = 4;
  let hex = false;
  if (line[p] === 'x') {
    hex = true;
    p++;
  }
  p = skipBlanks(line, p);
  if (line[p] !== '(') return { messages: [invalidSpec] };
  p = skipBlanks(line, p + 1);
  const varStart = p;
  p = skipUntil(line, p, ' \t,)');
  const variable = line.slice(varStart, p);
  p = skipBlanks(line, p);
  if (p >= line.length || line[p] === ')' || p === varStart) return { messages: [invalidDef, invalidSpec] };
  p = skipBlanks(line, p + 1);
  const close = line.indexOf(')', p);
  if (close === -1) return { messages: [invalidDef, invalidSpec] };
  if (close + 1 - p + 1 > SEQ_ARGS_MAX) {
    return { messages: [`~SEQ parameter strings too long '${line}'`, invalidSpec] };
  }
  const args = substitute(line.slice(p, close + 1));
  let start: number, step: number, end: number;
  const one = strtol0(args, 0);
  let q = skipBlanks(args, one.end);
  if (args[q] === ')') {
    end = one.value;
    step = end < 1 ? -1 : 1;
    start = end < 0 ? -1 : 1;
  } else {
    if (args[q] !== ',') return { messages: [invalidDef, invalidSpec] };
    const two = strtol0(args, q + 1);
    q = skipBlanks(args, two.end);
    if (args[q] === ')') {
      start = one.value;
      end = two.value;
      step = start <= end ? 1 : -1;
    } else {
      if (args[q] !== ',') return { messages: [invalidDef, invalidSpec] };
      const three = strtol0(args, q + 1);
      q = skipBlanks(args, three.end);
      if (args[q] !== ')') return { messages: [invalidDef, invalidSpec] };
      start = one.value;
      step = two.value;
      end = three.value;
      if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) {
        return { messages: [`Invalid ~SEQ values '${line}'`, invalidSpec] };
      }
    }
  }
  if (hex && (start < 0 || end < 0)) {
    return { messages: [`~SEQx is only valid for positive numbers '${line}'`, invalidSpec] };
  }
  const count = Math.floor((end - start) / step) + 1;
  if (count > SEQ_MAX_VALUES) {
    return {
      messages: [`~SEQ would generate ${count} lines, more than the limit of ${SEQ_MAX_VALUES} - ignoring '${line}'`],
    };
  }
  const text = line.slice(skipBlanks(line, close + 1));
  return { kind: 'seq', variable, next: start, step, last: end, hex, text };
}

/** Parse a `~LST` line. */
export function parseLst(line: string): LstGen | GenError {
  const invalid: GenError = { messages: [`Invalid ~LST specification '${line}'`] };
  let p = skipBlanks(line, 4);
  if (line[p] !== '(') return invalid;
  p = skipBlanks(line, p + 1);
  let endChar = ',';
  if (line[p] === '{') {
    endChar = '}';
    p = skipBlanks(line, p + 1);
  }
  const variables: string[] = [];
  for (;;) {
    const s = p;
    p = skipUntil(line, p, ' \t,}');
    variables.push(line.slice(s, p));
    p = skipBlanks(line, p);
    if (line[p] === endChar) break;
    if (line[p] !== ',') return invalid;
    p = skipBlanks(line, p + 1);
  }
  if (line[p] === '}') p = skipBlanks(line, p + 1);
  if (line[p] !== ',') return invalid;
  p = skipBlanks(line, p + 1);
  const sets: string[][] = [];
  for (;;) {
    endChar = ',';
    if (line[p] === '{') {
      endChar = '}';
      p = skipBlanks(line, p + 1);
    }
    const values: string[] = [];
    for (;;) {
      const s = p;
      p = skipUntil(line, p, ' \t,})');
      values.push(line.slice(s, p));
      p = skipBlanks(line, p);
      if (line[p] === endChar || (line[p] === ')' && endChar === ',')) break;
      if (line[p] !== ',') return invalid;
      p = skipBlanks(line, p + 1);
      if (values.length > variables.length - 1) {
        return { messages: [`~LST specification has too many values '${line}'`, invalid.messages[0]!] };
      }
    }
    while (values.length < variables.length) values.push('');
    sets.push(values);
    if (line[p] === '}' && endChar === '}') p = skipBlanks(line, p + 1);
    if (line[p] === ')') break;
    if (line[p] !== ',') return invalid;
    p = skipBlanks(line, p + 1);
    if (sets.length > SEQ_MAX_VALUES) {
      return { messages: [`~LST would generate more than ${SEQ_MAX_VALUES} lines - ignoring`] };
    }
  }
  const text = line.slice(skipBlanks(line, p + 1));
  return { kind: 'lst', variables, sets, nextSet: 0, text };
}

export function isGenError(g: Generator | GenError): g is GenError {
  return (g as GenError).messages !== undefined;
}
