// A reload is refused for a broken block structure by the diagnostics' codes, set where the parser
// and the builder make them; the printed words stay keepalived's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { reloadRefusal } from '../src/daemon/config-source.js';

const INSTANCE = `vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 5\n    priority 100\n    virtual_ipaddress {\n        192.0.2.9/32\n    }\n}\n`;

describe('diagnostic codes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), `tks-${process.pid}-diag-`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return loadConfig(f, { configId: 'x' });
  };

  const cases: [string, string, string, RegExp][] = [
    ['unclosed', INSTANCE + 'global_defs {\n    router_id a\n', 'BLOCK_UNCLOSED', /^There are 1 missing '\}'s or extra '\{'s$/],
    ['extra close', INSTANCE + '}\n', 'BLOCK_EXTRA_CLOSE', /^Extra '\}' found$/],
    ['unexpected open', INSTANCE + 'global_defs {\n    router_id a\n}\n{\n}\n', 'BLOCK_UNEXPECTED_OPEN', /^Unexpected '\{' - ignoring$/],
    ['block on an unknown keyword', INSTANCE + 'bogus_block {\n    x 1\n}\n', 'BLOCK_UNEXPECTED_OPEN', /^Unexpected '\{' - ignoring$/],
  ];
  for (const [name, text, code, words] of cases) {
    it(`${name}: ${code}, keepalived's words, reload refused`, () => {
      const r = load(`${name.replace(/ /g, '-')}.conf`, text);
      const coded = r.diagnostics.filter((d) => d.code === code);
      assert.ok(coded.length > 0, JSON.stringify(r.diagnostics));
      for (const d of coded) assert.match(d.message, words);
      const running = load('ok.conf', INSTANCE).config;
      assert.match(reloadRefusal({ config: r.config, diagnostics: r.diagnostics }, running) ?? '', /block structure is broken/);
    });
  }

  it('other errors carry no block code; a file with them and instances is applied', () => {
    const r = load('other.conf', INSTANCE.replace('priority 100', 'priority 100\n    unknown_kw 1'));
    assert.ok(r.diagnostics.some((d) => d.severity === 'error'));
    assert.ok(r.diagnostics.every((d) => d.code === undefined));
    assert.equal(reloadRefusal({ config: r.config, diagnostics: r.diagnostics }, r.config), undefined);
  });
});
