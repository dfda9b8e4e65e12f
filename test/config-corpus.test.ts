// Corpus: keepalived's own sample configs, with the exit code and first messages that
// keepalived 2.2.7 printed (EXPECTED.tsv). tskeepalived -t must give the same exit code and
// report the same (FILE: Line N) locations, run in a namespace with only lo and eth0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { canUseNamespaces, messageLocations, TestNamespace, TSKEEPALIVED } from './config-netns.js';

const CORPUS = '/work/shared/corpus/keepalived-samples';

interface Expected {
  file: string;
  rc: number;
  messages: string;
}

function readExpected(): Expected[] {
  const rows = readFileSync(`${CORPUS}/EXPECTED.tsv`, 'utf8').split('\n').slice(1);
  return rows
    .filter((r) => r.trim())
    .map((r) => {
      const [file, rc, messages] = r.split('\t');
      return { file, rc: Number(rc), messages: messages ?? '' };
    });
}

const skip = canUseNamespaces();

describe('corpus: tskeepalived -t agrees with keepalived 2.2.7 on its sample configs', { skip }, () => {
  const ns = new TestNamespace('corpus');
  before(() => ns.create());
  after(() => ns.destroy());

  for (const exp of readExpected()) {
    it(`${exp.file}: exit ${exp.rc} and the same message locations`, () => {
      const r = ns.run(process.execPath, [TSKEEPALIVED, '-t', '-f', exp.file], CORPUS);
      assert.equal(r.status, exp.rc, `exit code; stderr:\n${r.stderr}`);
      // EXPECTED.tsv keeps only the first ~300 characters; the last message may be cut
      const expectedText = exp.messages
        .split('|')
        .filter((m) => /^\(.*Line \d+\) .+/.test(m))
        .join('\n');
      const want = messageLocations(expectedText, exp.file);
      const got = messageLocations(r.stderr, exp.file);
      for (const loc of want) assert.ok(got.has(loc), `keepalived reported a message at ${loc}; ours:\n${r.stderr}`);
      // every message keepalived printed in full appears in ours with the same text
      for (const m of exp.messages.split('|').slice(0, -1)) {
        if (m) assert.ok(r.stderr.includes(m.replace(/^\(Line /, `(${exp.file}: Line `)), `missing message: ${m}\nours:\n${r.stderr}`);
      }
    });
  }
});
