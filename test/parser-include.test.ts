// include / includer / includem / includew / includeb / includea, globs, include_check,
// file checks; each error case is also compared with keepalived -t (messages and rc 6).
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parseConfig } from '../src/parser/index.js';
import { dump, haveKeepalived, keepalivedTest, TempDir } from './parser-helpers.js';

let dir: TempDir;
before(() => {
  dir = new TempDir('tkp-inc-');
});
after(() => dir?.remove());

const GLOBAL = 'global_defs {\n  router_id x\n}\n';
const FILE_MSG = /Config files missing|No config files matched|Some config files missing|is a directory|not a regular|open problem|Failed to open/;

function setup(name: string, files: Record<string, string>, exec: string[] = []): string {
  for (const [rel, content] of Object.entries(files)) {
    if (rel.endsWith('/')) mkdirSync(`${dir.path}/${name}/${rel}`, { recursive: true });
    else dir.write(`${name}/${rel}`, content);
  }
  for (const e of exec) chmodSync(`${dir.path}/${name}/${e}`, 0o755);
  return `${dir.path}/${name}`;
}

/** our file messages and stop code, and (when possible) keepalived's */
function check(name: string, files: Record<string, string>, exec: string[] = [], extra: { allConfig?: boolean } = {}) {
  const cwd = setup(name, files, exec);
  const r = parseConfig('keepalived.conf', { cwd, configId: 'main', includeCheckAll: extra.allConfig });
  const ours = r.diagnostics.filter((d) => FILE_MSG.test(d.message)).map((d) => d.keepalivedText);
  if (haveKeepalived) {
    const ka = keepalivedTest(cwd, 'keepalived.conf', extra.allConfig ? ['-e'] : []);
    const theirs = [...new Set(ka.lines.filter((l) => FILE_MSG.test(l)))];
    assert.deepEqual(ours, theirs, `keepalived said:\n${ka.lines.join('\n')}`);
    assert.equal(r.stopRc === 6, ka.rc === 6, `keepalived rc ${ka.rc}, stopRc ${r.stopRc}`);
  }
  return r;
}

test('plain include reads relative to the including file, in glob order; _PWD follows', () => {
  const cwd = setup('order', {
    'keepalived.conf': 'top1 ${_PWD}\ninclude sub/a.conf\ninclude sub/*.inc\ntop2 ${_PWD}\n',
    'sub/a.conf': 'a1 ${_PWD}\ninclude ../sub2/x.conf\n',
    'sub2/x.conf': 'x1\n',
    'sub/b.inc': 'b\n',
    'sub/a.inc': 'a\n',
    'sub/.hidden.inc': 'hidden\n',
  });
  const r = parseConfig('keepalived.conf', { cwd });
  assert.deepEqual(dump(r.nodes), [`1 top1|${cwd}`, `1 a1|${cwd}/sub`, '1 x1', '1 a', '1 b', `4 top2|${cwd}`]);
  assert.deepEqual(
    r.nodes.map((n) => n.loc.file),
    ['keepalived.conf', 'sub/a.conf', '../sub2/x.conf', 'sub/a.inc', 'sub/b.inc', 'keepalived.conf'],
  );
  assert.deepEqual(r.files, [`${cwd}/keepalived.conf`, `${cwd}/sub/a.conf`, `${cwd}/sub2/x.conf`, `${cwd}/sub/a.inc`, `${cwd}/sub/b.inc`]);
  assert.deepEqual(r.diagnostics, []);
});

test('brace expansion keeps the alternatives order; a block may span files', () => {
  const cwd = setup('braces', {
    'keepalived.conf': 'include {z,a}.conf\n  inner\n}\n',
    'z.conf': 'z1 {\n',
    'a.conf': 'a1\n',
  });
  const r = parseConfig('keepalived.conf', { cwd });
  assert.deepEqual(dump(r.nodes), ['1 z1', '  1 a1', '  2 inner']);
  assert.equal(r.nodes[0]!.endLoc!.file, 'keepalived.conf');
});

test('include of a missing file: include/includer only log it, includem/w/a are errors (rc 6)', () => {
  const r1 = check('missing_plain', { 'keepalived.conf': GLOBAL + 'include nothere.conf\nincluder nothere.conf\n' });
  assert.equal(r1.stopRc, undefined);
  assert.deepEqual(
    r1.diagnostics.map((d) => [d.severity, d.line]),
    [
      ['info', 4],
      ['info', 5],
    ],
  );
  const r2 = check('missing_m', { 'keepalived.conf': GLOBAL + 'includem nothere.conf\n' });
  assert.equal(r2.stopRc, 6);
  assert.equal(r2.diagnostics[0]!.keepalivedText, "(Line 4) Config files missing 'nothere.conf'.");
  assert.equal(check('missing_w', { 'keepalived.conf': GLOBAL + 'includew nothere.conf\n' }).stopRc, 6);
  assert.equal(check('missing_a', { 'keepalived.conf': GLOBAL + 'includea nothere.conf\n' }).stopRc, 6);
});

test('wildcard with no match: only includew/includea complain', () => {
  assert.deepEqual(check('wild_plain', { 'keepalived.conf': GLOBAL + 'include *.none\n' }).diagnostics, []);
  const r = check('wild_w', { 'keepalived.conf': GLOBAL + 'includew *.none\n' });
  assert.equal(r.stopRc, 6);
  assert.equal(r.diagnostics[0]!.message, "No config files matched '*.none'.");
});

test('{b,c}.conf with c missing: include reads b; includeb reads nothing and fails', () => {
  const r = check('brace_plain', { 'keepalived.conf': GLOBAL + 'include {b,c}.conf\n', 'b.conf': 'vrrp_script s {\n script /bin/true\n}\n' });
  assert.equal(r.nodes.length, 2);
  assert.equal(r.stopRc, undefined);
  const rb = check('brace_b', { 'keepalived.conf': GLOBAL + 'includeb {b,c}.conf\n', 'b.conf': 'vrrp_script s {\n script /bin/true\n}\n' });
  assert.equal(rb.nodes.length, 1);
  assert.equal(rb.stopRc, 6);
});

test('directories and executable files are skipped (errors with includer)', () => {
  const r = check('skip', { 'keepalived.conf': GLOBAL + 'include sub\ninclude run.conf\n', 'sub/': '', 'run.conf': 'x\n' }, ['run.conf']);
  assert.deepEqual(
    r.diagnostics.map((d) => d.message),
    ["Configuration file 'sub/' is a directory - skipping", "Configuration file 'run.conf' is not a regular non-executable file - skipping"],
  );
  assert.equal(r.nodes.length, 1);
  assert.equal(check('skip_r', { 'keepalived.conf': GLOBAL + 'includer sub\n', 'sub/': '' }).stopRc, 6);
});

test('include_check in global_defs makes plain include errors fatal; -e does too', () => {
  const r = check('check', { 'keepalived.conf': 'global_defs {\n  include_check\n}\ninclude nothere.conf\n' });
  assert.equal(r.stopRc, 6);
  const r2 = check('check_minus', { 'keepalived.conf': 'global_defs {\n  include_check -match\n}\ninclude nothere.conf\n' });
  assert.equal(r2.stopRc, undefined);
  const r3 = check('all_config', { 'keepalived.conf': GLOBAL + 'include nothere.conf\n' }, [], { allConfig: true });
  assert.equal(r3.stopRc, 6);
});

test('include via a definition works; included file names appear in messages', () => {
  const r = check('def', { 'keepalived.conf': GLOBAL + '$F=sub/x.conf\ninclude $F\n', 'sub/x.conf': 'includem y.conf\n' });
  assert.equal(r.stopRc, 6);
  assert.equal(r.diagnostics[0]!.keepalivedText, "(sub/x.conf: Line 1) Config files missing 'y.conf'.");
});

test('the top file: missing, a directory, or not regular -> keepalived -t stops with rc 0', () => {
  const cwd = setup('top', { 'd/': '' });
  for (const [file, msg] of [
    ['nothere.conf', "Config files missing 'nothere.conf'."],
    ['d', "Configuration file 'd/' is a directory - skipping"],
  ] as const) {
    const r = parseConfig(file, { cwd });
    assert.equal(r.stopRc, 0);
    assert.deepEqual(
      r.diagnostics.map((d) => d.keepalivedText),
      [msg],
    );
    if (haveKeepalived) {
      const ka = keepalivedTest(cwd, file);
      assert.deepEqual(ka.lines, [msg, 'rc=0'].slice(0, 1));
      assert.equal(ka.rc, 0);
    }
  }
});
