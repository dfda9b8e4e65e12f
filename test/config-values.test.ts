// Unit tests of the value readers: script quoting, numbers, durations, addresses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildContext } from '../src/config/context.js';
import { parsePrefix } from '../src/util/inet.js';
import { splitQuotedEscaped } from '../src/config/script-words.js';
import { readDecimal, readInt, readTimerMs, readUnsigned } from '../src/config/values.js';
import { readScript } from '../src/config/scripts.js';
import type { ConfNode } from '../src/parser/ast.js';

const node = (text: string): ConfNode => {
  const w = text.split(/\s+/);
  return { keyword: w[0], args: w.slice(1), text, loc: { file: '/t.conf', line: 7 } };
};
const ctx = () => new BuildContext('/t.conf', new Set(['lo', 'eth0']));

describe('script quoting (keepalived.conf(5), parser rules §3)', () => {
  const words = (s: string) => {
    const r = splitQuotedEscaped(s);
    assert.ok('words' in r);
    return r.words;
  };
  it('splits on blanks and groups quotes of both kinds', () => {
    assert.deepEqual(words(`'/b/q b' arg1`), ['/b/q b', 'arg1']);
    assert.deepEqual(words(`a"b c"d 'e f'`), ['ab cd', 'e f']);
  });
  it('handles escapes: \\\\ space, \\x greedy to 8 bits, octal, \\c, \\E', () => {
    assert.deepEqual(words('/b/q\\ b'), ['/b/q b']);
    assert.deepEqual(words('s\\x41'), ['sA']);
    assert.deepEqual(words('s\\x41b'), ['s\x1b']);
    assert.deepEqual(words('\\101\\cA\\E'), ['A\x01\x1b']);
  });
  it('reports an unterminated quote', () => {
    const r = splitQuotedEscaped(`"abc`);
    assert.ok('error' in r && /missing terminating "/.test(r.error));
  });
  it('a script line is split twice: command/user/group, then argv', () => {
    const c = ctx();
    const s = readScript(c, c.scripts, node(`notify_master "'/b/q b' arg1" root root`));
    assert.deepEqual(s?.argv, ['/b/q b', 'arg1']);
    assert.equal(s?.user, 'root');
    assert.equal(s?.group, 'root');
    const s2 = readScript(c, c.scripts, node(`script '/b/q b'`));
    // the single quotes group the whole-line word, then the second split breaks it at the blank
    assert.deepEqual(s2?.argv, ['/b/q', 'b']);
    assert.equal(s2?.user, undefined);
  });
});

describe('numbers as keepalived reads them', () => {
  it('read_int / read_unsigned messages', () => {
    const c = ctx();
    assert.equal(readUnsigned(c, node('priority 300'), '300', 1, 255), undefined);
    assert.equal(readUnsigned(c, node('x -1'), '-1', 0, 10), undefined);
    assert.equal(readInt(c, node('x abc'), 'abc', 0, 10), undefined);
    assert.equal(readInt(c, node('x -5'), '-5', -10, 10), -5);
    assert.deepEqual(
      c.diagnostics().map((d) => d.message),
      ["number '300' outside range [1, 255]", "negative number '-1'", "invalid number 'abc'"],
    );
    assert.ok(c.diagnostics().every((d) => d.line === 7 && d.file === '/t.conf'));
  });
  it('decimals and timers (seconds with µs resolution -> ms)', () => {
    const c = ctx();
    assert.equal(readTimerMs(c, node('advert_int 0.92'), '0.92'), 920);
    assert.equal(readTimerMs(c, node('delay_loop 60'), '60'), 60000);
    assert.equal(readDecimal(c, node('x 1.2345678'), '1.2345678', 0, 1e12, 6), 1234568);
    assert.match(c.diagnostics()[0].message, /too many decimal places/);
  });
});

describe('addresses', () => {
  it('validates IPv4/IPv6 prefixes and canonicalises IPv6', () => {
    assert.deepEqual(parsePrefix('192.0.2.1/24'), { address: '192.0.2.1', prefixLen: 24, family: 4 });
    assert.deepEqual(parsePrefix('2001:DB8:0::1'), { address: '2001:db8::1', prefixLen: 128, family: 6 });
    assert.equal(parsePrefix('192.168.100./24'), undefined);
    assert.equal(parsePrefix('300.1.1.1'), undefined);
    assert.equal(parsePrefix('10.0.0.1/33'), undefined);
    // one canonical text for config and the engines (inet_ntop's v4-mapped form, not the URL parser's ::ffff:102:304)
    assert.deepEqual(parsePrefix('::FFFF:1.2.3.4/96'), { address: '::ffff:1.2.3.4', prefixLen: 96, family: 6 });
    assert.equal(parsePrefix('fe80::1%eth0'), undefined);
  });
});
