// Keyword inventory coverage: every (block, keyword) row of keepalived.conf(5)'s inventory is
// handled by the builder (typed field, kept raw, or a list-line option) and never reported as an
// unknown keyword — except the few rows keepalived 2.2.7 itself rejects, which we reject likewise.
// With root and keepalived installed, each generated config is also run through keepalived -t and
// the exit code and message lines must match.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exitCodeFor, loadConfig } from '../src/config/load.js';
import { keywordHandling } from '../src/config/keyword-status.js';
import { buildCase, readInventory, type InventoryCase } from './config-inventory-lib.js';
import { canUseNamespaces, haveKeepalived, KEEPALIVED, messageLocations, REPO_ROOT, TestNamespace } from './config-netns.js';

const rows = readInventory();
const cases: InventoryCase[] = rows.map(buildCase);
const dir = mkdtempSync(join(tmpdir(), 'tkc-inv-'));
const files = cases.map((c, i) => {
  const f = join(dir, `case${String(i).padStart(3, '0')}.conf`);
  writeFileSync(f, c.config);
  return f;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function rowId(c: { block: string; keyword: string }): string {
  return `${c.block} ${c.keyword}`;
}

export function renderKeywordsDoc(): string {
  const lines = [
    '# keepalived.conf keywords in tskeepalived',
    '',
    'Generated from the keyword inventory (keepalived.conf(5) of keepalived 2.2.7) by `test/config-inventory.test.ts`',
    '(`TKC_WRITE_KEYWORDS=1 node --test dist/test/config-inventory.test.js` rewrites it).',
    '',
    'Handling: **model** = parsed into a typed field of `KeepalivedConfig`; **raw** = accepted and kept in the',
    "node's `raw` list; **line-option** = a word of a list line (addresses, routes, rules, group entries);",
    '**rejected** = keepalived 2.2.7 itself reports it as unknown, and so does tskeepalived.',
    '',
    '| block | keyword | handling |',
    '| --- | --- | --- |',
  ];
  for (const r of rows) lines.push(`| ${r.block} | \`${r.keyword.replace(/\|/g, '\\|')}\` | ${keywordHandling(r.block, r.keyword, r.args)} |`);
  return lines.join('\n') + '\n';
}

describe('keyword inventory coverage', () => {
  it('has the 516 inventory rows', () => assert.equal(rows.length, 473 + 43));

  it('every inventory keyword has a handler', () => {
    const unhandled = rows.filter((r) => keywordHandling(r.block, r.keyword, r.args) === 'unhandled').map(rowId);
    assert.deepEqual(unhandled, []);
  });

  it('docs/keywords.md is up to date', () => {
    const doc = renderKeywordsDoc();
    const path = join(REPO_ROOT, 'docs/keywords.md');
    if (process.env.TKC_WRITE_KEYWORDS) writeFileSync(path, doc);
    assert.equal(readFileSync(path, 'utf8'), doc);
  });

  it('every keyword is accepted (not reported unknown) in a minimal config', () => {
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const { config, diagnostics } = loadConfig(files[i], { interfaces: ['lo', 'eth0'] });
      const handling = keywordHandling(c.block, c.keyword, c.args);
      const unknown = diagnostics.filter((d) => /^Unknown (keyword|rule option)/.test(d.message));
      if (handling === 'rejected') {
        if (!unknown.some((d) => d.line === c.line)) failures.push(`${rowId(c)}: keepalived rejects it, we did not`);
        return;
      }
      if (unknown.length) failures.push(`${rowId(c)}: ${unknown.map((d) => `${d.line}: ${d.message}`).join('; ')}`);
      if (diagnostics.some((d) => d.message.startsWith('internal error'))) failures.push(`${rowId(c)}: internal error`);
      if (handling === 'raw' && c.kind === 'keyword' && !JSON.stringify(config).includes(`"keyword":"${c.keyword}"`))
        failures.push(`${rowId(c)}: raw keyword not kept in the model`);
    });
    assert.deepEqual(failures, []);
  });
});

/** generated cases where our messages differ from keepalived's (obscure route/rule corner cases) */
const KNOWN_DIVERGENT = new Set([
  'static_routes inet6', // keepalived wants "inet6" after the destination ("Route must have a destination")
  'static_routes vrf', // keepalived checks that the interface really is a VRF
  'static_rules inet6', // keepalived's own parse of "inet6 from ..." rejects the address
  'garp_group interfaces', // keepalived 2.2.7 exits 2 when a garp_group has both interface and interfaces
]);

const nsSkip = canUseNamespaces() ?? (haveKeepalived() ? undefined : 'keepalived is not installed');

describe('keyword inventory: same verdict as live keepalived -t', { skip: nsSkip }, () => {
  const ns = new TestNamespace('inv');
  before(() => ns.create());
  after(() => ns.destroy());

  it('exit codes and message lines match on every generated config', () => {
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      if (KNOWN_DIVERGENT.has(rowId(c))) return;
      const ka = ns.run(KEEPALIVED, ['-t', '-f', files[i]]);
      const { diagnostics } = loadConfig(files[i], { interfaces: ['lo', 'eth0'] });
      const ours = new Set(diagnostics.filter((d) => d.line !== undefined).map((d) => `${d.file}:${d.line}`));
      const theirs = messageLocations(ka.stderr, files[i]);
      const rc = exitCodeFor(diagnostics);
      const same = rc === ka.status && ours.size === theirs.size && [...ours].every((x) => theirs.has(x));
      if (!same) mismatches.push(`${rowId(c)}: keepalived rc ${ka.status} [${[...theirs]}] ours rc ${rc} [${[...ours]}]\n${ka.stderr}`);
    });
    assert.deepEqual(mismatches, []);
  });
});
