// Property test: the fast path gives exactly what the general two-pass path gives,
// for random configurations mixing plain lines with every special character.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { dump, parseBoth } from './parser-helpers.js';

const piece = fc.constantFrom(
  'a',
  'vrrp_instance',
  'VI_1',
  ' ',
  '  ',
  '\t',
  '{',
  '}',
  '"',
  '#',
  '!',
  '\\',
  '$X',
  '${X}',
  '$M',
  '@main ',
  '@^main ',
  '~SEQ(N,1,2) ',
  '~LST(v,a,b) ',
  'include nothere.conf',
  'x=1',
  '\f',
  '\r',
  '\0',
  '\xe9',
  'include_check',
  '$X=v',
  '$M=m1 \\',
);
const line = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
const config = fc.array(line, { maxLength: 30 }).map((ls) => ls.join('\n') + '\n');

test('fast path == general path on random configurations', () => {
  fc.assert(
    fc.property(config, (text) => {
      parseBoth(text, { configId: 'main' });
    }),
    { numRuns: 300 },
  );
});

test('fast path == general path with long lines around the fgets limit', () => {
  fc.assert(
    fc.property(fc.integer({ min: 990, max: 1030 }), fc.constantFrom('', ' {', '}', ' x'), (n, tail) => {
      const r = parseBoth(`k ${'y'.repeat(n)}${tail}\nnext\n`);
      assert.ok(dump(r.nodes).length >= 2);
    }),
    { numRuns: 60 },
  );
});

test("fast path == general path across the reader's 64 KB chunk boundaries", () => {
  // lines of every length around the boundary, a long line (several fgets reads) over it,
  // braces and comments at it: each placement lands a different character on the boundary
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }), fc.constantFrom('k v {', '}', 'x # c', `long ${'z'.repeat(1500)}`, '{ a b }'), (shift, at) => {
      const filler = 'real_server 10.0.0.1 80 {\n  weight 1\n}\n';
      let text = 'a'.repeat(shift) + '\n';
      while (text.length < 65536 - 20) text += filler;
      text += `${at}\nend\n${filler.repeat(3)}`;
      const r = parseBoth(text);
      assert.ok(dump(r.nodes).some((l) => l.endsWith(' end')));
    }),
    { numRuns: 50 },
  );
});
