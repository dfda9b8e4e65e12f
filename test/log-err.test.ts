// Errors are logged under one key, err, through pino's error serializer: JSON records carry the
// type, message, code and stack; the human lines (-l, -g, syslog) show the message only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { SystemError } from '../src/native/errno.js';

test('log.warn({ err }): the human line shows the message, no stack', async () => {
  const dir = mkdtempSync(join(tmpdir(), `tks-${process.pid}-logerr-`));
  try {
    const file = join(dir, 'k.log');
    const h = await createLogger({ console: false, detail: false, file, noSyslog: true, jsonStdout: false });
    h.logger.warn({ err: new SystemError('bind', 98, 'VRRP socket') }, 'cannot open VRRP socket on eth9');
    h.close();
    const line = readFileSync(file, 'utf8').trim();
    assert.match(line, /WARN {2}cannot open VRRP socket on eth9 err="bind \(VRRP socket\) failed: EADDRINUSE/);
    assert.doesNotMatch(line, /\n|\bat /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log.warn({ err }): the JSON record has type, message, code and stack', () => {
  const logger = new URL('../src/log/logger.js', import.meta.url).href;
  const errno = new URL('../src/native/errno.js', import.meta.url).href;
  const script = `
    const { createLogger } = await import(${JSON.stringify(logger)});
    const { SystemError } = await import(${JSON.stringify(errno)});
    const h = await createLogger({ console: false, detail: false, noSyslog: true, jsonStdout: true });
    h.logger.child({ subsystem: 'vrrp' }).warn({ err: new SystemError('bind', 98) }, 'send failed');
    h.close();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout.trim().split('\n').pop()!) as { err: Record<string, unknown>; msg: string };
  assert.equal(rec.msg, 'send failed');
  assert.equal(rec.err.type, 'SystemError');
  assert.equal(rec.err.code, 'EADDRINUSE');
  assert.match(String(rec.err.message), /^bind failed: EADDRINUSE/);
  assert.match(String(rec.err.stack), /\n\s+at /);
});
