// smtp_alert: real SMTP server on loopback; the notifier is driven with engine events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Notifier } from '../src/notify/notifier.js';
import { alertFor, checkerBody } from '../src/notify/alerts.js';
import type { EngineEvent } from '../src/engine-api/types.js';
import { makeConfig, makeInstance, makeVirtualServer, recordingLogger, sleep, startSmtpSink } from './daemon-support.js';

const at = Date.now();
const inst = (name: string, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', previous: 'INIT' | 'BACKUP' | 'MASTER' = 'INIT'): EngineEvent => ({
  kind: 'vrrp-instance',
  name,
  state,
  previous,
  priority: 100,
  at,
});

test('VRRP MASTER/BACKUP/FAULT and group alerts reach the SMTP server with keepalived subjects and bodies', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const { logger } = await recordingLogger();
  const config = makeConfig(
    {
      vrrpInstances: [makeInstance('VI_1', { smtpAlert: true }), makeInstance('VI_QUIET')],
      syncGroups: [
        {
          name: 'G1',
          members: ['VI_1'],
          notify: {},
          smtpAlert: true,
          globalTracking: false,
          syncGroupTrackingWeight: false,
          trackInterface: [],
          trackScript: [],
          trackFile: [],
          loc: { file: 't', line: 1 },
        },
      ],
    },
    {
      routerId: 'LVS_DEVEL',
      notificationEmail: ['ops@example.test', 'noc@example.test'],
      notificationEmailFrom: 'lb1@example.test',
      smtpServer: { host: '127.0.0.1', port: sink.port },
      smtpHeloName: 'lb1.example.test',
      smtpConnectTimeout: 5000,
    },
  );
  const n = new Notifier(config, logger);
  n.start();
  n.handle(inst('VI_1', 'MASTER'));
  n.handle(inst('VI_1', 'MASTER')); // same state twice: one mail only
  n.handle(inst('VI_QUIET', 'MASTER')); // no smtp_alert on this one (global default off)
  n.handle(inst('VI_1', 'BACKUP', 'MASTER'));
  n.handle(inst('VI_1', 'FAULT', 'BACKUP'));
  n.handle({ kind: 'vrrp-group', name: 'G1', state: 'MASTER', previous: 'BACKUP', at });
  const mails = await sink.waitFor(4);
  await sleep(200);
  await n.stop();
  assert.equal(mails.length, 4, mails.map((m) => m.subject).join(' | '));
  for (const m of mails) {
    assert.deepEqual(m.to.sort(), ['noc@example.test', 'ops@example.test']);
    assert.equal(m.from, 'lb1@example.test');
    assert.equal(m.helo, 'lb1.example.test');
    assert.equal(m.headers['x-mailer'], 'Keepalived');
    assert.match(m.headers.to, /ops@example\.test/);
  }
  assert.deepEqual(
    mails.map((m) => [m.subject, m.body]),
    [
      ['[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
      ['[LVS_DEVEL] VRRP Instance VI_1 - Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
      ['[LVS_DEVEL] VRRP Instance VI_1 - Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
      ['[LVS_DEVEL] VRRP Group G1 - Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
    ],
  );
});

test('checker up/down alerts: subject names real and virtual server, body per checker type', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const { logger } = await recordingLogger();
  const config = makeConfig(
    {
      virtualServers: [
        makeVirtualServer('10.0.0.1', 80, [
          { address: '192.168.1.10', port: 80 },
          { address: '192.168.1.11', port: 80, smtpAlert: false },
        ]),
      ],
    },
    { routerId: 'lb1', notificationEmail: ['ops@example.test'], smtpServer: { host: '127.0.0.1', port: sink.port } },
  );
  const n = new Notifier(config, logger);
  n.start();
  const rs = (real: string, up: boolean, checker: string): EngineEvent => ({
    kind: 'real-server',
    virtualServer: '[10.0.0.1]:tcp:80',
    realServer: real,
    up,
    weight: up ? 1 : 0,
    checker,
    at,
  });
  n.handle(rs('[192.168.1.10]:tcp:80', false, 'TCP_CHECK'));
  n.handle(rs('[192.168.1.11]:tcp:80', false, 'TCP_CHECK')); // smtp_alert off on this real server
  n.handle(rs('[192.168.1.10]:tcp:80', true, 'HTTP_GET'));
  n.handle({ kind: 'virtual-server-quorum', virtualServer: '[10.0.0.1]:tcp:80', up: false, alive: 0, quorum: 1, at });
  const mails = await sink.waitFor(2);
  await sleep(200);
  await n.stop();
  // virtual server smtp_alert defaults off (no smtp_alert / smtp_alert_checker): no quorum mail
  assert.deepEqual(
    mails.map((m) => [m.subject, m.body]),
    [
      ['[lb1] Realserver [192.168.1.10]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN', '=> TCP CHECK failed on service <='],
      ['[lb1] Realserver [192.168.1.10]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP', '=> CHECK succeed on service <='],
    ],
  );
  assert.match(mails[0].from, /^keepalived@/); // default notification_email_from
});

test('smtp_alert resolution: instance override, smtp_alert_vrrp, global smtp_alert', () => {
  const base = { notificationEmail: ['a@b.test'], smtpServer: { host: '127.0.0.1', port: 25 } };
  const ev = inst('VI_1', 'MASTER');
  assert.equal(alertFor(ev, makeConfig({ vrrpInstances: [makeInstance('VI_1')] }, base)), undefined);
  assert.ok(alertFor(ev, makeConfig({ vrrpInstances: [makeInstance('VI_1')] }, { ...base, smtpAlert: true })));
  assert.equal(alertFor(ev, makeConfig({ vrrpInstances: [makeInstance('VI_1')] }, { ...base, smtpAlert: true, smtpAlertVrrp: false })), undefined);
  assert.equal(alertFor(ev, makeConfig({ vrrpInstances: [makeInstance('VI_1', { smtpAlert: false })] }, { ...base, smtpAlert: true })), undefined);
  assert.ok(alertFor(ev, makeConfig({ vrrpInstances: [makeInstance('VI_1', { smtpAlert: true })] }, { ...base, smtpAlert: false })));
  // no_email_faults
  const nf = makeConfig(
    { vrrpInstances: [makeInstance('VI_1', { smtpAlert: true })] },
    { ...base, raw: [{ keyword: 'no_email_faults', args: [], loc: { file: 't', line: 1 } }] },
  );
  assert.equal(alertFor(inst('VI_1', 'FAULT'), nf), undefined);
  assert.equal(checkerBody('DNS_CHECK', false), '=> DNS_CHECK: failed on service <=');
  assert.equal(checkerBody('MISC_CHECK', true), '=> MISC CHECK succeeded on service <=');
});

test('a rejecting SMTP server: failure logged with the reply code and text', async (t) => {
  const sink = await startSmtpSink({ rejectWith: { code: 550, message: 'relay denied for test' } });
  t.after(() => sink.close());
  const { logger, records } = await recordingLogger();
  const config = makeConfig(
    { vrrpInstances: [makeInstance('VI_1', { smtpAlert: true })] },
    { notificationEmail: ['ops@example.test'], smtpServer: { host: '127.0.0.1', port: sink.port } },
  );
  const n = new Notifier(config, logger);
  n.start();
  n.handle(inst('VI_1', 'MASTER'));
  await n.mail!.idle();
  await n.stop();
  const err = records.find((r) => r.level === 'error' && String(r.msg).startsWith('Error sending SMTP alert'));
  assert.ok(err, JSON.stringify(records));
  assert.equal(err.responseCode, 550);
  assert.match(String(err.msg), /550 .*relay denied for test/);
  assert.equal(n.mail?.stats.failed ?? 1, 1);
});

test('an unresponsive SMTP server delays nothing: event handling returns at once, queue bounded', async (t) => {
  // accepts TCP connections but never sends the 220 greeting
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const { logger, records } = await recordingLogger();
  const config = makeConfig(
    { vrrpInstances: [makeInstance('VI_1', { smtpAlert: true })] },
    { notificationEmail: ['ops@example.test'], smtpServer: { host: '127.0.0.1', port }, smtpConnectTimeout: 300 },
  );
  const n = new Notifier(config, logger, { vrrp: true, checkers: true, maxPendingMails: 5 });
  n.start();
  const t0 = process.hrtime.bigint();
  const states = ['MASTER', 'BACKUP'] as const;
  for (let i = 0; i < 200; i++) n.handle(inst('VI_1', states[i % 2], states[(i + 1) % 2]));
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t.diagnostic(`200 events handled in ${elapsedMs.toFixed(2)} ms with an unresponsive SMTP server`);
  assert.ok(elapsedMs < 200, `event handling took ${elapsedMs} ms`);
  // a timer scheduled now must fire on time: the event loop is not blocked by the mailer
  const lag = await new Promise<number>((r) => {
    const s = Date.now();
    setTimeout(() => r(Date.now() - s - 50), 50);
  });
  assert.ok(lag < 100, `event loop lag ${lag} ms`);
  assert.ok(n.mail!.pending <= 6, `pending ${n.mail!.pending}`);
  assert.ok(n.mail!.stats.dropped >= 190, `dropped ${n.mail!.stats.dropped}`);
  assert.ok(records.some((r) => String(r.msg).includes('queue full')));
  // the first send times out (greeting timeout 300 ms) and is logged as a failure
  const until = Date.now() + 5000;
  while (n.mail!.stats.failed < 1 && Date.now() < until) await sleep(50);
  assert.ok(n.mail!.stats.failed >= 1);
  assert.ok(records.some((r) => r.level === 'error' && String(r.msg).startsWith('Error sending SMTP alert')));
  await n.stop(0);
});
