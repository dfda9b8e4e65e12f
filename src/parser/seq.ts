// ~SEQ(var, [start,] [step,] end) and ~LST(var|{v1,v2..}, value|{a,b..}, ...) line
// generators (keepalived's add_seq / add_lst), as plain data the reader iterates.
//
// The reader that calls this is hand-written for speed (`tskeepalived -t` is benchmarked
// against `keepalived -t`); the generator syntax, the only nested grammar in keepalived.conf,
// is parsed by the Chevrotain grammar in generator-grammar.ts, which is loaded lazily the
// first time a ~SEQ/~LST line is met. This file turns its results into keepalived's values
// and messages (range rules, ~SEQx sign rule, the 64-byte argument limit, line bounds).
import { generatorGrammar } from './generator-grammar.js';

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

/**
 * Parse a `~SEQ` line. `substitute` applies $definitions to the argument text
 * within the 64-byte limit (keepalived substitutes the arguments before reading the numbers).
 */
export function parseSeq(line: string, substitute: (args: string) => string): SeqGen | GenError {
  const invalidSpec = `Invalid ~SEQ specification '${line}'`;
  const invalidDef = `Invalid ~SEQ definition '${line}'`;
  const grammar = generatorGrammar();
  const head = grammar.seqHead(line);
  if (head.keyword !== '~SEQ' && head.keyword !== '~SEQx') return { messages: [invalidSpec] };
  if ('error' in head) return head.error === 'def' ? { messages: [invalidDef, invalidSpec] } : { messages: [invalidSpec] };
  const hex = head.keyword === '~SEQx';
  const p = skipBlanks(line, head.argsStart);
  const close = line.indexOf(')', p);
  if (close === -1) return { messages: [invalidDef, invalidSpec] };
  if (close + 1 - p + 1 > SEQ_ARGS_MAX) {
    return { messages: [`~SEQ parameter strings too long '${line}'`, invalidSpec] };
  }
  const args = grammar.seqArgs(substitute(line.slice(p, close + 1)));
  if (args === null) return { messages: [invalidDef, invalidSpec] };
  const n = args.numbers;
  let start: number, step: number, end: number;
  if (n.length === 1) {
    end = n[0]!;
    step = end < 1 ? -1 : 1;
    start = end < 0 ? -1 : 1;
  } else if (n.length === 2) {
    start = n[0]!;
    end = n[1]!;
    step = start <= end ? 1 : -1;
  } else {
    start = n[0]!;
    step = n[1]!;
    end = n[2]!;
    if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) {
      return { messages: [`Invalid ~SEQ values '${line}'`, invalidSpec] };
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
  return { kind: 'seq', variable: head.variable, next: start, step, last: end, hex, text };
}

/** Parse a `~LST` line. */
export function parseLst(line: string): LstGen | GenError {
  const invalid = `Invalid ~LST specification '${line}'`;
  const r = generatorGrammar().lst(line, SEQ_MAX_VALUES);
  if ('error' in r) {
    if (r.error === 'too-many') return { messages: [`~LST specification has too many values '${line}'`, invalid] };
    if (r.error === 'too-many-sets') return { messages: [`~LST would generate more than ${SEQ_MAX_VALUES} lines - ignoring`] };
    return { messages: [invalid] };
  }
  if (r.keyword !== '~LST') return { messages: [invalid] };
  for (const values of r.sets) while (values.length < r.variables.length) values.push('');
  const text = line.slice(skipBlanks(line, r.restStart));
  return { kind: 'lst', variables: r.variables, sets: r.sets, nextSet: 0, text };
}

export function isGenError(g: Generator | GenError): g is GenError {
  return (g as GenError).messages !== undefined;
}
