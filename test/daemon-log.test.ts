// Logging: human single-line format, -g log file, syslog datagrams on a real AF_UNIX socket
// (a python3 receiver stands in for the syslog daemon), facility from -S.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { formatRecord } from '../src/log/format.js';
import { formatSyslog } from '../src/log/syslog.js';
import { sleep } from './daemon-support.js';

test('human format: time, level, subsystem, instance, message, fields', () => {
  const line = formatRecord({
    level: 'info',
    time: new Date(2026, 10, 21, 23, 40, 1, 5).getTime(),
    subsystem: 'vrrp',
    instance: 'VI_1',
    msg: 'Entering MASTER STATE',
    prio: 100,
    reason: 'advert timeout',
  });
  assert.equal(line, '2026-11-21 23:40:01.005 INFO  [vrrp] (VI_1) Entering MASTER STATE prio=100 reason="advert timeout"');
  assert.equal(formatSyslog(16, 6, 'Keepalived', 42, 'hello', new Date(2026, 0, 5, 1, 2, 3)), '<134>Jan  5 01:02:03 Keepalived[42]: hello');
});

test('-g log file gets human lines; -D enables debug', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'k.log');
  const h = await createLogger({ console: false, detail: true, file, noSyslog: true, jsonStdout: false });
  h.logger.child({ subsystem: 'checkers' }).info({ rs: '[10.0.0.2]:tcp:80' }, 'TCP connection to [10.0.0.2]:tcp:80 success.');
  h.logger.debug('a debug line');
  h.close();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}\[checkers\] TCP connection to \[10\.0\.0\.2\]:tcp:80 success\. rs=\[10\.0\.0\.2\]:tcp:80$/,
  );
  assert.match(lines[1], /DEBUG a debug line/);
  const quiet = await createLogger({ console: false, detail: false, file: join(dir, 'q.log'), noSyslog: true, jsonStdout: false });
  quiet.logger.debug('hidden');
  quiet.logger.info('shown');
  quiet.close();
  assert.deepEqual(
    readFileSync(join(dir, 'q.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.replace(/^.* INFO {2}/, '')),
    ['shown'],
  );
});

test('syslog: datagrams with the -S facility reach a syslog socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tkd-syslog-'));
  const sock = join(dir, 'log');
  const out = join(dir, 'received');
  const py = spawn('python3', [
    '-c',
    `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
f=open(sys.argv[2],'ab',0)
while True:
    try: d=s.recv(65536)
    except Exception: break
    f.write(d+b"\\n")`,
    sock,
    out,
  ]);
  t.after(() => {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(20);
  const h = await createLogger({ console: false, detail: false, noSyslog: false, facility: 3, syslogPath: sock, jsonStdout: false });
  t.diagnostic(`syslog transport: ${h.syslogTransport}`);
  assert.ok(h.syslogTransport === 'native' || h.syslogTransport === 'logger');
  h.logger.child({ subsystem: 'vrrp', instance: 'VI_1' }).warn('Entering FAULT STATE');
  h.logger.error('something broke');
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (text.includes('something broke')) break;
    await sleep(30);
  }
  // net_namespace / instance: keepalived's ident Keepalived_NAMESPACE_INSTANCE from then on
  h.setSyslogIdent('Keepalived_ns1_inst');
  h.logger.info('after the config');
  for (let i = 0; i < 100; i++) {
    text = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (text.includes('after the config')) break;
    await sleep(30);
  }
  h.close();
  assert.match(text, new RegExp(`Keepalived\\[${process.pid}\\]: .*something broke`));
  assert.match(text, new RegExp(`Keepalived_ns1_inst\\[${process.pid}\\]: .*after the config`));
  // LOG_LOCAL3 = 19: warning (4) -> <156>, error (3) -> <155>
  assert.match(text, /<156>.*\[vrrp\] \(VI_1\) Entering FAULT STATE/);
  assert.match(text, /<155>.*something broke/);
});

test('no syslog socket: falls back to stderr and says so', async () => {
  const h = await createLogger({ console: false, detail: false, noSyslog: false, syslogPath: '/nonexistent/dev-log', jsonStdout: false });
  assert.equal(h.syslogTransport, 'stderr');
  assert.match(h.notes.join('\n'), /syslog unavailable .*logging to stderr/);
  h.close();
});

test('human format does not repeat an instance the message already names', () => {
  const line = formatRecord({ level: 'info', time: 0, subsystem: 'vrrp', instance: 'VI_1', msg: '(VI_1) Entering MASTER STATE' });
  assert.match(line, / INFO {2}\[vrrp\] \(VI_1\) Entering MASTER STATE$/);
});
