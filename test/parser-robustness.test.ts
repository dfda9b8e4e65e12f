// Bad input never throws, never hangs, and gets a diagnostic with file and line.
import { strict as assert } from 'node:assert';
import { closeSync, openSync, writeSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parseConfig } from '../src/parser/index.js';
import { dump, TempDir } from './parser-helpers.js';

let dir: TempDir;
before(() => {
  dir = new TempDir('tkp-rob-');
});
after(() => dir?.remove());

function timed<T>(limitMs: number, f: () => T): T {
  const t = performance.now();
  const r = f();
  const ms = performance.now() - t;
  assert.ok(ms < limitMs, `took ${ms.toFixed(0)} ms (limit ${limitMs})`);
  return r;
}

test('missing file and directory: a message, no exception', () => {
  const r = parseConfig(`${dir.path}/nothere.conf`);
  assert.equal(r.stopRc, 0);
  assert.match(r.diagnostics[0]!.message, /Config files missing/);
  assert.equal(r.diagnostics[0]!.file, `${dir.path}/nothere.conf`);
  const d = parseConfig(dir.path);
  assert.equal(d.stopRc, 0);
  assert.match(d.diagnostics[0]!.message, /is a directory - skipping/);
});

test('binary garbage (NULs, invalid UTF-8, random braces and quotes)', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 8) & 0xff;
  const buf = Buffer.alloc(2_000_000);
  for (let i = 0; i < buf.length; i++) buf[i] = rnd();
  const p = dir.write('garbage.conf', buf);
  const r = timed(10_000, () => parseConfig(p, { configId: 'x' }));
  assert.ok(dump(r.nodes).length > 1000, String(dump(r.nodes).length));
  for (const d of r.diagnostics) {
    assert.equal(typeof d.file, 'string');
    assert.equal(typeof d.line, 'number');
  }
  assert.ok(r.diagnostics.some((d) => /Extra '}'|missing '}'|Unterminated quote/.test(d.message)));
});

test('a 100 MB file finishes with a clear error and bounded memory', () => {
  const p = `${dir.path}/huge.conf`;
  const fd = openSync(p, 'w');
  const block = Buffer.from('vrrp_instance V {\n  state BACKUP\n  interface lo\n  virtual_router_id 1\n}\n'.repeat(20_000));
  let written = 0;
  while (written < 100_000_000) written += writeSync(fd, block);
  closeSync(fd);
  const before = process.memoryUsage().rss;
  const r = timed(60_000, () => parseConfig(p, { configId: 'x' }));
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 1_500_000_000, `rss grew by ${grown}`);
  const fatal = r.diagnostics.find((d) => d.severity === 'fatal');
  assert.ok(fatal, 'expected a fatal diagnostic');
  assert.match(fatal.message, /configuration too large/);
  assert.equal(fatal.file, p);
  assert.ok(fatal.line! > 0);
});

test('include loop: a file including itself, and a <-> b', () => {
  const a = dir.write('loop/a.conf', 'x1\ninclude a.conf\ninclude a.conf\nx2\n');
  const r = timed(5000, () => parseConfig(a));
  assert.equal(r.stopRc, 6);
  assert.deepEqual(
    r.nodes.map((n) => n.keyword),
    ['x1', 'x2'],
  );
  assert.equal(r.diagnostics[0]!.line, 2);
  assert.match(r.diagnostics[0]!.message, /include loop/);
  dir.write('loop2/b.conf', 'b1\ninclude c.conf\n');
  dir.write('loop2/c.conf', 'c1\ninclude b.conf\n');
  const r2 = timed(5000, () => parseConfig('b.conf', { cwd: `${dir.path}/loop2` }));
  assert.deepEqual(
    r2.nodes.map((n) => n.keyword),
    ['b1', 'c1'],
  );
  assert.equal(r2.diagnostics[0]!.keepalivedText, "(c.conf: Line 2) include loop: 'b.conf' is already being read - not including it again");
});

test('include depth is bounded', () => {
  for (let i = 0; i < 40; i++) dir.write(`deep/f${i}.conf`, `d${i}\ninclude f${i + 1}.conf\n`);
  const r = timed(5000, () => parseConfig('f0.conf', { cwd: `${dir.path}/deep` }));
  assert.equal(r.nodes.length, 32);
  assert.match(r.diagnostics[0]!.message, /include depth exceeded/);
  assert.equal(r.stopRc, 6);
});

test('10,000-deep braces (and 10,000 unclosed)', () => {
  const deep = 'a {\n'.repeat(10_000) + 'leaf\n' + '}\n'.repeat(10_000);
  const p = dir.write('deep.conf', deep);
  const r = timed(5000, () => parseConfig(p));
  assert.deepEqual(r.diagnostics, []);
  let n = r.nodes[0]!;
  let depth = 1;
  while (n.children?.length) {
    n = n.children[0]!;
    depth++;
  }
  assert.equal(depth, 10_001);
  assert.equal(n.keyword, 'leaf');
  const open = dir.write('open.conf', 'a {\n'.repeat(10_000));
  const r2 = parseConfig(open);
  assert.equal(r2.diagnostics[0]!.message, "There are 10000 missing '}'s or extra '{'s");
});

test('~SEQ with huge counts is bounded and reported', () => {
  const p = dir.write('seq.conf', '~SEQ(N,1,1000000000) x${N}\n~SEQ(I,1,100000) ~SEQ(J,1,100000) y\nafter\n');
  const r = timed(30_000, () => parseConfig(p));
  assert.match(r.diagnostics[0]!.message, /~SEQ would generate 1000000000 lines/);
  assert.equal(r.diagnostics[0]!.line, 1);
  const gen = r.diagnostics.find((d) => /expansion exceeds/.test(d.message));
  assert.ok(gen, JSON.stringify(r.diagnostics));
  assert.equal(gen.line, 2);
  assert.equal(r.nodes[r.nodes.length - 1]!.keyword, 'after');
});

test('substitution loops are bounded', () => {
  const p = dir.write('subst.conf', '$A=${A}x\np ${A}\n$B=$C\n$C=$B\nq $B\n');
  const r = timed(5000, () => parseConfig(p));
  assert.deepEqual(
    r.diagnostics.map((d) => [d.line, d.severity]),
    [
      [2, 'info'],
      [5, 'error'],
    ],
  );
  assert.match(r.diagnostics[0]!.message, /would exceed maximum line length/);
});

test('runaway definitions: self-referring multiline values, braces re-created by substitution, ~SEQ re-created', () => {
  const cases: [string, RegExp][] = [
    ['$M=m1 \\\n$M\n$M\n', /multiline definitions expanded more than 1000 times/],
    ['$X=a{}$X$X\np $X\n', /keeps producing brace-separated parts/],
    ['~LST(v,a,b) $M=m1 \\${X}~SEQ(N,1,2) $M\n$M\n', /produced more than 16 MB of text|nested more than 64 deep/],
  ];
  for (const [i, [text, re]] of cases.entries()) {
    const p = dir.write(`runaway${i}.conf`, text);
    const r = timed(20_000, () => parseConfig(p));
    const d = r.diagnostics.find((x) => re.test(x.message));
    assert.ok(d, `case ${i}: ${JSON.stringify(r.diagnostics.slice(0, 3))}`);
    assert.ok(d.line! >= 1 && d.file === p);
  }
});
