// Fuzz: mutate corpus configs (delete/duplicate/swap lines, stray braces, random bytes, random
// keywords) and load them in-process. Nothing may throw, and every diagnostic names its file and,
// when it has one, a line of that file. A config test that keeps no virtual servers (checking
// each as it is read) must give the very same messages.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../src/config/load.js';
import { readInventory } from './config-inventory-lib.js';

const CORPUS = '/work/shared/corpus/keepalived-samples';
const samples = readdirSync(CORPUS)
  .filter((f) => f.startsWith('keepalived.conf'))
  .map((f) => readFileSync(join(CORPUS, f), 'latin1').split('\n'));
const keywords = [
  ...new Set(
    readInventory()
      .map((r) => r.keyword)
      .filter((k) => !k.startsWith('<')),
  ),
];

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'brace'; at: number; brace: string }
  | { kind: 'bytes'; at: number; bytes: number[] }
  | { kind: 'keyword'; at: number; keyword: string; arg: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('brace' as const), at: fc.nat(), brace: fc.constantFrom('{', '}', '{ }', '} {', '"{"', 'x {') }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 24 }) }),
  fc.record({
    kind: fc.constant('keyword' as const),
    at: fc.nat(),
    keyword: fc.constantFrom(...keywords),
    arg: fc.constantFrom(
      '',
      '1',
      '-1',
      '0x10',
      '300',
      'abc',
      '10.0.0.1',
      '2001:db8::1/64',
      '"a b"',
      "'x",
      'eth0',
      'eth9',
      '/bin/true',
      '1.5',
      '99999999999999999999',
    ),
  }),
);

function apply(lines: string[], muts: Mutation[]): string {
  const out = lines.slice();
  for (const m of muts) {
    const at = out.length ? m.at % out.length : 0;
    switch (m.kind) {
      case 'delete':
        out.splice(at, 1);
        break;
      case 'duplicate':
        out.splice(at, 0, out[at] ?? '');
        break;
      case 'swap': {
        const j = out.length ? m.with % out.length : 0;
        [out[at], out[j]] = [out[j], out[at]];
        break;
      }
      case 'brace':
        out.splice(at, 0, m.brace);
        break;
      case 'bytes':
        out.splice(at, 0, Buffer.from(m.bytes).toString('latin1'));
        break;
      case 'keyword':
        out.splice(at, 0, `${m.keyword} ${m.arg}`);
        break;
    }
  }
  return out.join('\n');
}

describe('fuzz: mutated corpus configs never crash the config loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkc-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const runs = Number(process.env.TKC_FUZZ_RUNS ?? 10000);

  it(`${runs} mutated configs: no exception, every diagnostic located`, { timeout: 300000 }, () => {
    const file = join(dir, 'fuzz.conf');
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (s, muts) => {
        const text = apply(samples[s], muts);
        writeFileSync(file, text, 'latin1');
        const { diagnostics } = loadConfig(file, { interfaces: ['lo', 'eth0'] });
        const lineCount = text.split('\n').length;
        for (const d of diagnostics) {
          assert.ok(!d.message.startsWith('internal error'), d.message);
          assert.equal(typeof d.file, 'string', `diagnostic without file: ${d.message}`);
          if (d.line !== undefined) {
            // line 0: keepalived's end-of-input location ("There are N missing '}'s")
            assert.ok(Number.isInteger(d.line) && d.line >= 0, `bad line ${d.line}: ${d.message}`);
            if (d.file === file) assert.ok(d.line <= lineCount + 1, `line ${d.line} beyond end (${lineCount}): ${d.message}`);
          }
        }
      }),
      { numRuns: runs, seed: 42 },
    );
  });

  it(`${Math.ceil(runs / 5)} mutated configs: a config test keeping no virtual servers says exactly the same`, { timeout: 300000 }, () => {
    const file = join(dir, 'fuzz-release.conf');
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (s, muts) => {
        writeFileSync(file, apply(samples[s], muts), 'latin1');
        const kept = loadConfig(file, { interfaces: ['lo', 'eth0'] });
        const released = loadConfig(file, { interfaces: ['lo', 'eth0'], keepVirtualServers: false });
        assert.deepEqual(released.diagnostics, kept.diagnostics);
        assert.equal(released.stopRc, kept.stopRc);
      }),
      { numRuns: Math.ceil(runs / 5), seed: 7 },
    );
  });
});
