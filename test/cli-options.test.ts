import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, CliError } from '../src/cli/options.js';

test('keepalived short and long options', () => {
  const o = parseArgs(['-n', '-lD', '-f', '/x.conf', '-p', '/run/k.pid', '--config-id=main', '-P']);
  assert.equal(o.dontFork, true);
  assert.equal(o.logConsole, true);
  assert.equal(o.logDetail, true);
  assert.equal(o.useFile, '/x.conf');
  assert.equal(o.pidFile, '/run/k.pid');
  assert.equal(o.configId, 'main');
  assert.equal(o.vrrpOnly, true);
});

test('--config-test takes an optional file only with =', () => {
  assert.equal(parseArgs(['--config-test=/a.conf']).useFile, '/a.conf');
  assert.equal(parseArgs(['-t/b.conf']).useFile, '/b.conf');
  const o = parseArgs(['-t', '-f', '/c.conf']);
  assert.equal(o.configTest, true);
  assert.equal(o.useFile, '/c.conf');
});

test('unsupported keepalived options warn, unknown ones fail', () => {
  assert.equal(parseArgs(['--dont-respawn']).warnings.length, 1);
  assert.throws(() => parseArgs(['--bogus']), CliError);
  assert.throws(() => parseArgs(['-f']), CliError);
});
