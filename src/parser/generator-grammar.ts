// The grammar of keepalived's line generators, `~SEQ(var, [start,] [step,] end)`,
// `~SEQx(...)` and `~LST(var|{v1,v2..}, value|{a,b..}, ...)`, written with Chevrotain.
//
// Why two techniques in one parser: keepalived.conf itself is line oriented (a keyword and
// words, braces, include, $definitions); its reader is hand-written in reader.ts/fast-path.ts
// because `tskeepalived -t` is benchmarked against `keepalived -t` and must start fast. The
// generators are the one place with a nested, real grammar (tuples in braces, optional
// arguments, signed numbers), so they are described here declaratively. Chevrotain costs
// ~65-100 ms to load (its single-file build) and ~50 ms to build the lexers and parser on this machine, so it is required LAZILY and SYNCHRONOUSLY (Chevrotain
// 10 ships CommonJS) the first time a ~SEQ/~LST line is met: configurations without
// generators never load it (see isGeneratorGrammarLoaded()).
//
// Two lexers share the token vocabulary:
// - the line lexer (exact keepalived character classes): blanks, ( ) { } , and words;
// - the argument lexer for ~SEQ numbers after $substitution, whose Number token follows C
//   strtol(base 0): optional leading white space and sign, 0x hex, leading-0 octal (so `08` is
//   the number 0 followed by a stray `8`, which the grammar rejects).
// The parsers only recognise and collect; seq.ts turns results into keepalived's messages.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as Chevrotain from 'chevrotain';
import { strtol0 } from './strtol.js';

export interface SeqHeadResult {
  /** the first word: '~SEQ' or '~SEQx' when well formed */
  keyword: string;
  variable: string;
  /** offset in the line of the first character of the numeric arguments */
  argsStart: number;
}
/** 'spec': no '(' after the keyword; 'def': the variable or separator is wrong */
export type SeqHeadError = { error: 'spec' | 'def'; keyword: string };

export interface SeqArgsResult {
  /** 1 to 3 numbers (an empty argument is 0, as strtol with no digits) */
  numbers: number[];
}

export interface LstResult {
  keyword: string;
  variables: string[];
  sets: string[][];
  /** offset just after the closing ')' */
  restStart: number;
}
/** 'invalid' (any syntax error), 'too-many' values in a set, 'too-many-sets' */
export type LstError = { error: 'invalid' | 'too-many' | 'too-many-sets' };

interface Grammar {
  seqHead(line: string): SeqHeadResult | SeqHeadError;
  seqArgs(args: string): SeqArgsResult | null;
  lst(line: string, maxSets: number): LstResult | LstError;
}

let grammar: Grammar | null = null;
let loadMs = 0;

/** true once Chevrotain has been required (tests assert configs without generators never do) */
export function isGeneratorGrammarLoaded(): boolean {
  return grammar !== null;
}

/** milliseconds spent requiring Chevrotain and building the lexers/parser (0 if not loaded) */
export function generatorGrammarLoadMs(): number {
  return loadMs;
}

export function generatorGrammar(): Grammar {
  if (grammar === null) {
    const t0 = performance.now();
    const chev = requireChevrotain();
    grammar = buildGrammar(chev);
    loadMs = performance.now() - t0;
  }
  return grammar;
}

/**
 * Chevrotain's own single-file build (lib/chevrotain.min.js, same package and version) loads
 * ~3x faster than its module tree (lib/src/api.js and lodash); fall back to the package entry.
 */
function requireChevrotain(): typeof Chevrotain {
  const req = createRequire(import.meta.url);
  const entry = req.resolve('chevrotain');
  const bundle = join(dirname(entry), '..', 'chevrotain.min.js');
  return (existsSync(bundle) ? req(bundle) : req(entry)) as typeof Chevrotain;
}

interface ParseState {
  keyword: string;
  sawParen: boolean;
  variable: string;
  argsStart: number;
  numbers: number[];
  variables: string[];
  sets: string[][];
  restStart: number;
  maxSets: number;
  firstError: LstError['error'] | null;
}

function freshState(maxSets = 0): ParseState {
  return {
    keyword: '',
    sawParen: false,
    variable: '',
    argsStart: -1,
    numbers: [],
    variables: [],
    sets: [],
    restStart: -1,
    maxSets,
    firstError: null,
  };
}

function buildGrammar(chev: typeof Chevrotain): Grammar {
  const { createToken, Lexer, EmbeddedActionsParser } = chev;
  const Any = createToken({ name: 'Any', pattern: Lexer.NA });
  const Blank = createToken({ name: 'Blank', pattern: /[ \t]+/, categories: [Any] });
  const LParen = createToken({ name: 'LParen', pattern: '(', categories: [Any] });
  const RParen = createToken({ name: 'RParen', pattern: ')', categories: [Any] });
  const LBrace = createToken({ name: 'LBrace', pattern: '{', categories: [Any] });
  const RBrace = createToken({ name: 'RBrace', pattern: '}', categories: [Any] });
  const Comma = createToken({ name: 'Comma', pattern: ',', categories: [Any] });
  const Word = createToken({ name: 'Word', pattern: /[^ \t,(){}]+/, categories: [Any] });
  const NumberTok = createToken({
    name: 'Number',
    pattern: /[ \t\n\v\f\r]*[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/,
    categories: [Any],
  });
  const ArgBlank = createToken({ name: 'ArgBlank', pattern: /[ \t]+/, group: Lexer.SKIPPED });
  // biome-ignore lint/correctness/noEmptyCharacterClassInRegex: [^] is any character (chevrotain lexes [\s\S] differently)
  const Other = createToken({ name: 'Other', pattern: /[^]/, categories: [Any] });

  const lexOpts = { positionTracking: 'onlyOffset' as const, ensureOptimizations: false };
  const lineLexer = new Lexer([Blank, LParen, RParen, LBrace, RBrace, Comma, Word], lexOpts);
  const argsLexer = new Lexer([NumberTok, ArgBlank, Comma, RParen, Other], lexOpts);

  class GeneratorParser extends EmbeddedActionsParser {
    st: ParseState = freshState();

    constructor() {
      super([Any, Blank, LParen, RParen, LBrace, RBrace, Comma, Word, NumberTok, Other], {
        recoveryEnabled: false,
        maxLookahead: 2,
      });
      this.performSelfAnalysis();
    }

    /** optional run of blanks */
    gap = this.RULE('gap', () => {
      this.OPTION(() => this.CONSUME(Blank));
    });

    /** everything after the part we care about is left to the caller */
    rest = this.RULE('rest', () => {
      this.MANY(() => this.CONSUME(Any));
    });

    /** `~SEQ[x] ( var SEP` (SEP: any one character but ')'; keepalived does not insist on ',') */
    seqHead = this.RULE('seqHead', () => {
      const kw = this.CONSUME(Word);
      this.ACTION(() => {
        this.st.keyword = kw.image;
      });
      this.SUBRULE(this.gap);
      this.CONSUME(LParen);
      this.ACTION(() => {
        this.st.sawParen = true;
      });
      this.SUBRULE2(this.gap);
      this.MANY(() => {
        const t = this.OR([
          { ALT: () => this.CONSUME2(Word) },
          { ALT: () => this.CONSUME2(LParen) },
          { ALT: () => this.CONSUME(LBrace) },
          { ALT: () => this.CONSUME(RBrace) },
        ]);
        this.ACTION(() => {
          this.st.variable += t.image;
        });
      });
      this.SUBRULE3(this.gap);
      const sep = this.OR2([
        { ALT: () => this.CONSUME(Comma) },
        { ALT: () => this.CONSUME3(Word) },
        { ALT: () => this.CONSUME3(LParen) },
        { ALT: () => this.CONSUME2(LBrace) },
        { ALT: () => this.CONSUME2(RBrace) },
      ]);
      this.ACTION(() => {
        this.st.argsStart = sep.startOffset + 1;
      });
      this.SUBRULE(this.rest);
    });

    /** one strtol number; empty is 0 */
    seqNumber = this.RULE('seqNumber', () => {
      let value = 0;
      this.OPTION(() => {
        const t = this.CONSUME(NumberTok);
        this.ACTION(() => {
          value = strtol0(t.image, 0).value;
        });
      });
      this.ACTION(() => {
        this.st.numbers.push(value);
      });
    });

    /** `end)` | `start, end)` | `start, step, end)` */
    seqArgs = this.RULE('seqArgs', () => {
      this.SUBRULE(this.seqNumber);
      this.OPTION(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.seqNumber);
        this.OPTION2(() => {
          this.CONSUME2(Comma);
          this.SUBRULE3(this.seqNumber);
        });
      });
      this.CONSUME(RParen);
      this.SUBRULE(this.rest);
    });

    /** a variable inside {..}: any characters but blanks , } */
    lstName = this.RULE('lstName', (): string => {
      let s = '';
      this.MANY(() => {
        const t = this.OR([
          { ALT: () => this.CONSUME(Word) },
          { ALT: () => this.CONSUME(LParen) },
          { ALT: () => this.CONSUME(RParen) },
          { ALT: () => this.CONSUME(LBrace) },
        ]);
        this.ACTION(() => {
          s += t.image;
        });
      });
      return s;
    });

    /** a lone variable: as lstName, but a leading '{' opens a list instead */
    lstBareName = this.RULE('lstBareName', (): string => {
      let s = '';
      this.OPTION(() => {
        const first = this.OR([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(LParen) }, { ALT: () => this.CONSUME(RParen) }]);
        const rest = this.SUBRULE(this.lstName);
        this.ACTION(() => {
          s = first.image + rest;
        });
      });
      return s;
    });

    /** a value inside {..}: any characters but blanks , } ) */
    lstValue = this.RULE('lstValue', (): string => {
      let s = '';
      this.MANY(() => {
        const t = this.OR([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(LParen) }, { ALT: () => this.CONSUME(LBrace) }]);
        this.ACTION(() => {
          s += t.image;
        });
      });
      return s;
    });

    /** a lone value: as lstValue, but a leading '{' opens a tuple instead */
    lstBareValue = this.RULE('lstBareValue', (): string => {
      let s = '';
      this.OPTION(() => {
        const first = this.OR([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(LParen) }]);
        this.ACTION(() => {
          s = first.image;
        });
        this.MANY(() => {
          const t = this.OR2([{ ALT: () => this.CONSUME2(Word) }, { ALT: () => this.CONSUME2(LParen) }, { ALT: () => this.CONSUME(LBrace) }]);
          this.ACTION(() => {
            s += t.image;
          });
        });
      });
      return s;
    });

    /** `{P, Q, ..}` | `P` */
    lstVariables = this.RULE('lstVariables', () => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(LBrace);
            this.SUBRULE(this.gap);
            const first = this.SUBRULE(this.lstName);
            this.ACTION(() => this.st.variables.push(first));
            this.SUBRULE2(this.gap);
            this.MANY(() => {
              this.CONSUME(Comma);
              this.SUBRULE3(this.gap);
              const next = this.SUBRULE2(this.lstName);
              this.ACTION(() => this.st.variables.push(next));
              this.SUBRULE4(this.gap);
            });
            this.CONSUME(RBrace);
            this.SUBRULE5(this.gap);
          },
        },
        {
          ALT: () => {
            const name = this.SUBRULE(this.lstBareName);
            this.ACTION(() => this.st.variables.push(name));
            this.SUBRULE6(this.gap);
          },
        },
      ]);
    });

    /** `{a, 1, ..}` | `a`; more values than variables is an error */
    lstSet = this.RULE('lstSet', () => {
      const values: string[] = [];
      this.OR([
        {
          ALT: () => {
            this.CONSUME(LBrace);
            this.SUBRULE(this.gap);
            const first = this.SUBRULE(this.lstValue);
            this.ACTION(() => values.push(first));
            this.SUBRULE2(this.gap);
            this.MANY(() => {
              this.CONSUME(Comma);
              this.SUBRULE3(this.gap);
              this.ACTION(() => {
                if (values.length > this.st.variables.length - 1) this.st.firstError ??= 'too-many';
              });
              const next = this.SUBRULE2(this.lstValue);
              this.ACTION(() => values.push(next));
              this.SUBRULE4(this.gap);
            });
            this.CONSUME(RBrace);
            this.SUBRULE5(this.gap);
          },
        },
        {
          ALT: () => {
            const value = this.SUBRULE(this.lstBareValue);
            this.ACTION(() => values.push(value));
            this.SUBRULE6(this.gap);
          },
        },
      ]);
      this.ACTION(() => this.st.sets.push(values));
    });

    /** `~LST ( variables , set [, set ..] )` */
    lst = this.RULE('lst', () => {
      const kw = this.CONSUME(Word);
      this.ACTION(() => {
        this.st.keyword = kw.image;
      });
      this.SUBRULE(this.gap);
      this.CONSUME(LParen);
      this.SUBRULE2(this.gap);
      this.SUBRULE(this.lstVariables);
      this.CONSUME(Comma);
      this.SUBRULE3(this.gap);
      this.SUBRULE(this.lstSet);
      this.MANY(() => {
        this.CONSUME2(Comma);
        this.SUBRULE4(this.gap);
        this.ACTION(() => {
          if (this.st.sets.length > this.st.maxSets) this.st.firstError ??= 'too-many-sets';
        });
        this.SUBRULE2(this.lstSet);
      });
      const close = this.CONSUME(RParen);
      this.ACTION(() => {
        this.st.restStart = close.startOffset + 1;
      });
      this.SUBRULE(this.rest);
    });
  }

  const parser = new GeneratorParser();

  function run(lexer: Chevrotain.Lexer, text: string, st: ParseState, rule: () => unknown): boolean {
    const lexed = lexer.tokenize(text);
    parser.st = st;
    parser.input = lexed.tokens;
    rule();
    return lexed.errors.length === 0 && parser.errors.length === 0;
  }

  return {
    seqHead(line) {
      const st = freshState();
      const ok = run(lineLexer, line, st, () => parser.seqHead());
      if (!st.sawParen) return { error: 'spec', keyword: st.keyword };
      if (!ok || st.variable === '') return { error: 'def', keyword: st.keyword };
      return { keyword: st.keyword, variable: st.variable, argsStart: st.argsStart };
    },
    seqArgs(args) {
      const st = freshState();
      return run(argsLexer, args, st, () => parser.seqArgs()) ? { numbers: st.numbers } : null;
    },
    lst(line, maxSets) {
      const st = freshState(maxSets);
      const ok = run(lineLexer, line, st, () => parser.lst());
      if (st.firstError !== null) return { error: st.firstError };
      if (!ok) return { error: 'invalid' };
      return { keyword: st.keyword, variables: st.variables, sets: st.sets, restStart: st.restStart };
    },
  };
}
