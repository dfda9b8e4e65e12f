// The ~SEQ / ~SEQx / ~LST grammar (src/parser/generator-grammar.ts, Chevrotain) as used by
// seq.ts: valid forms, nesting, tuples, every error path reported with its file and line,
// agreement with the hand-written reader it replaced (kept below as a differential oracle),
// and Chevrotain staying unloaded for configurations without generators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseLst, parseSeq, SEQ_ARGS_MAX, SEQ_MAX_VALUES, type Generator, type GenError } from '../src/parser/seq.js';
import { generatorGrammar, generatorGrammarLoadMs } from '../src/parser/generator-grammar.js';
import { strtol0 } from '../src/parser/strtol.js';
import { diagTexts, parseBoth, parseText, TempDir, words } from './parser-helpers.js';

const root = join(import.meta.dirname, '..', '..');

// ------------------------------------------------ the hand-written reader (differential oracle)

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
function handSeq(line: string, substitute: (args: string) => string): Generator | GenError {
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
function handLst(line: string): Generator | GenError {
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

// ------------------------------------------------------------------------------ valid forms

test('~SEQ argument forms: end, start/end, start/step/end, blanks, signs, hex, octal', () => {
  const r = parseBoth(
    '~SEQ( A , 2 ) a$A\n~SEQ(B,-2) b$B\n~SEQ(C, 3 ,1) c$C\n~SEQ(D,+1,0x2,5) d$D\n~SEQ(E,-010,-4,-020) e$E\n' + '~SEQx (F,0xfe,0X100) f$F\n~SEQ(G,,1) g$G\n',
  );
  assert.deepEqual(diagTexts(r), []);
  assert.deepEqual(words(r.nodes), ['a1', 'a2', 'b-1', 'b-2', 'c3', 'c2', 'c1', 'd1', 'd3', 'd5', 'e-8', 'e-12', 'e-16', 'ffe', 'fff', 'f100', 'g0', 'g1']);
});

test('~SEQ nested in ~SEQ and ~LST on one line: the leftmost generator is the outer loop', () => {
  const r = parseBoth('~SEQ(I,1,2) ~SEQx(J,9,10) ~LST({P,Q},{a,1},{b}) n_${I}_${J}_${P}${Q}\n');
  assert.deepEqual(diagTexts(r), []);
  assert.deepEqual(words(r.nodes), ['n_1_9_a1', 'n_1_9_b', 'n_1_a_a1', 'n_1_a_b', 'n_2_9_a1', 'n_2_9_b', 'n_2_a_a1', 'n_2_a_b']);
});

test('~LST tuples: brace groups, blanks, missing values are empty, lone variable and values', () => {
  const r = parseBoth('~LST( { X , Y } , { 1 , 2 } , {3} ) t_${X}_${Y}\n~LST(v, a, {b}, c) l_$v\n~LST(w,x(y,z(() m_$w\n');
  assert.deepEqual(diagTexts(r), []);
  assert.deepEqual(words(r.nodes), ['t_1_2', 't_3_', 'l_a', 'l_b', 'l_c', 'm_x(y', 'm_z((']);
});

test('~SEQ arguments are $substituted before the grammar reads them', () => {
  const r = parseBoth('$R=2, 3\n$S=0x\n~SEQ(N,$R) a$N\n~SEQ(M,${S}a,0xb) b$M\n');
  assert.deepEqual(diagTexts(r), []);
  assert.deepEqual(words(r.nodes), ['a2', 'a3', 'b10', 'b11']);
});

// ----------------------------------------------------------------------------- error paths

test('every ~SEQ error path is a diagnostic with its file and line, never an exception', () => {
  const bad = [
    ['~SEQ N,1) x', ['Invalid ~SEQ specification']],
    ['~SEQy(N,1) x', ['Invalid ~SEQ specification']],
    ['~SEQ(,1) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,1 x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,08) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,1 2) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,1,2,3,4) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,a) x', ['Invalid ~SEQ definition', 'Invalid ~SEQ specification']],
    ['~SEQ(N,1,0,3) x', ['Invalid ~SEQ values', 'Invalid ~SEQ specification']],
    ['~SEQ(N,3,1,1) x', ['Invalid ~SEQ values', 'Invalid ~SEQ specification']],
    ['~SEQx(N,-3) x', ['~SEQx is only valid for positive numbers', 'Invalid ~SEQ specification']],
    [`~SEQ(N,${'2'.repeat(SEQ_ARGS_MAX)}) x`, ['~SEQ parameter strings too long', 'Invalid ~SEQ specification']],
    ['~SEQ(N,0,1000000) x', ['~SEQ would generate 1000001 lines']],
  ] as const;
  {
    const r = parseText(bad.map(([l]) => l).join('\n') + '\nafter\n', {}, 'gen.conf');
    const got = r.diagnostics.map((d) => [d.line, d.file?.endsWith('gen.conf'), d.severity, d.message]);
    const want = bad.flatMap(([_l, msgs], i) => msgs.map((m) => [i + 1, true, 'error', m]));
    assert.equal(got.length, want.length, JSON.stringify(got, null, 1));
    got.forEach((g, i) => {
      assert.deepEqual(g.slice(0, 3), want[i]!.slice(0, 3));
      assert.ok((g[3] as string).startsWith(want[i]![3] as string), `${g[3]} should start with ${want[i]![3]}`);
    });
    assert.deepEqual(words(r.nodes), ['after']);
  }
});

test('every ~LST error path is a diagnostic with its line', () => {
  const r = parseBoth(
    '~LST v,a) x\n~LSTx(v,a) x\n~LST(v) x\n~LST({a,b,c) x\n~LST({P,Q} {a,b}) x\n~LST(v,{a,b}) x\n' +
      '~LST({P,Q},{a,b,c}) x\n~LST(v,a b) x\n~LST(v,{a) x\n~LST(v,a\nafter\n',
  );
  assert.deepEqual(diagTexts(r), [
    "1 Invalid ~LST specification '~LST v,a) x'",
    "2 Invalid ~LST specification '~LSTx(v,a) x'",
    "3 Invalid ~LST specification '~LST(v) x'",
    "4 Invalid ~LST specification '~LST({a,b,c) x'",
    "5 Invalid ~LST specification '~LST({P,Q} {a,b}) x'",
    "6 ~LST specification has too many values '~LST(v,{a,b}) x'",
    "6 Invalid ~LST specification '~LST(v,{a,b}) x'",
    "7 ~LST specification has too many values '~LST({P,Q},{a,b,c}) x'",
    "7 Invalid ~LST specification '~LST({P,Q},{a,b,c}) x'",
    "8 Invalid ~LST specification '~LST(v,a b) x'",
    "9 Invalid ~LST specification '~LST(v,{a) x'",
    "10 Invalid ~LST specification '~LST(v,a'",
  ]);
  assert.deepEqual(words(r.nodes), ['after']);
});

test('~LST with more sets than the line bound is refused (a line of ~200 kB, called directly)', () => {
  const line = `~LST(v,${Array.from({ length: SEQ_MAX_VALUES + 2 }, () => 'a').join(',')}) x`;
  assert.deepEqual(parseLst(line), { messages: [`~LST would generate more than ${SEQ_MAX_VALUES} lines - ignoring`] });
  const ok = parseLst(`~LST(v,${Array.from({ length: SEQ_MAX_VALUES }, (_, i) => i).join(',')}) x`);
  assert.ok(!('messages' in ok) && ok.kind === 'lst' && ok.sets.length === SEQ_MAX_VALUES);
});

test('the grammar answers malformed input with results, not exceptions', () => {
  const g = generatorGrammar();
  assert.deepEqual(g.seqArgs(''), null);
  assert.deepEqual(g.seqArgs('1,2,3,4)'), null);
  assert.deepEqual(g.seqArgs(' \f-0x1f , 017,9)junk'), { numbers: [-31, 15, 9] });
  assert.deepEqual(g.seqHead('~SEQ'), { error: 'spec', keyword: '~SEQ' });
  assert.deepEqual(g.lst('', 10), { error: 'invalid' });
});

// ------------------------------------------------------------------------ differential oracle

function same(a: Generator | GenError, b: Generator | GenError): void {
  assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

const subst = (s: string): string => s.replace(/\$X/g, '7,');

test('the grammar agrees with the hand-written reader on random ~SEQ/~LST lines', () => {
  const piece = fc.constantFrom(' ', '\t', ',', '(', ')', '{', '}', 'x', 'N', '0', '1', '7', '8', '9', '0x', '0X1f', '-', '+', 'a', '$X', '\f', '~SEQ', '|');
  const tail = fc.array(piece, { maxLength: 24 }).map((a) => a.join(''));
  const seqLine = fc.tuple(fc.constantFrom('~SEQ', '~SEQx', '~SEQ (', '~SEQ(', '~SEQx('), tail).map(([h, t]) => h + t);
  const lstLine = fc.tuple(fc.constantFrom('~LST', '~LST(', '~LST({', '~LST ( {'), tail).map(([h, t]) => h + t);
  fc.assert(
    fc.property(seqLine, (line) => same(parseSeq(line, subst), handSeq(line, subst))),
    { numRuns: 3000, seed: 42 },
  );
  fc.assert(
    fc.property(lstLine, (line) => same(parseLst(line), handLst(line))),
    { numRuns: 3000, seed: 43 },
  );
  const wellFormed = fc
    .tuple(fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([ns, hex]) => `~SEQ${hex ? 'x' : ''}(V, ${ns.map((n) => (hex ? '0x' + n.toString(16) : String(n))).join(' ,')}) v$V`);
  fc.assert(
    fc.property(wellFormed, (line) => same(parseSeq(line, subst), handSeq(line, subst))),
    { numRuns: 1000 },
  );
});

// ------------------------------------------------------------------------------ lazy loading

function cliLoadsChevrotain(conf: string): { rc: number | null; loaded: string; stderr: string } {
  const dir = new TempDir();
  try {
    const hook = dir.write(
      'hook.cjs',
      "process.on('exit', () => process.stderr.write('CHEVROTAIN_LOADED=' + " +
        "Object.keys(require.cache).some((k) => k.includes('/node_modules/chevrotain/')) + '\\n'));\n",
    );
    const cfg = conf.includes('\n') ? dir.write('k.conf', conf) : conf;
    const p = spawnSync(process.execPath, ['--require', hook, join(root, 'bin', 'tskeepalived'), '-t', '-f', cfg], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const m = /CHEVROTAIN_LOADED=(\w+)/.exec(p.stderr);
    return { rc: p.status, loaded: m?.[1] ?? 'hook did not run', stderr: p.stderr };
  } finally {
    dir.remove();
  }
}

test('tskeepalived -t never loads Chevrotain for a config without generators, and does for one with them', () => {
  const plain = cliLoadsChevrotain(join(root, 'examples', 'keepalived.conf'));
  assert.equal(plain.loaded, 'false', plain.stderr);
  assert.equal(plain.rc, 0, plain.stderr);
  const gen = cliLoadsChevrotain('global_defs {\n  ~SEQ(N,1,2) router_id r$N\n}\n');
  assert.equal(gen.loaded, 'true', gen.stderr);
});

test('loading the grammar is measured', () => {
  generatorGrammar();
  const ms = generatorGrammarLoadMs();
  assert.ok(ms > 0 && ms < 10_000, `load took ${ms} ms`);
});
