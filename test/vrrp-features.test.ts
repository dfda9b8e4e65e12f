// nopreempt, auth PASS mismatch, unicast peers, VRRPv3 with an IPv6 VIP, a sync group with tracking
// and notify scripts: tskeepalived and keepalived 2.2.7 in network namespaces.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { config, instance, vip, keepalivedConf, Lan, startTsNode, startKeepalived, waitFor, sleep, isRoot, sh } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived');
const skip = canRun ? false : 'needs root and keepalived';
let lan: Lan;
const loc = { file: 'test.conf', line: 1 };

before(() => {
  if (canRun) lan = new Lan(`tkv-${process.pid}`, 2, '10.62.0', 'fd62');
});
after(() => lan?.cleanup());

test('nopreempt: a higher-priority tskeepalived BACKUP does not take over from keepalived; takes over when it stops', { skip, timeout: 40_000 }, async () => {
  const addr = '10.62.0.70';
  const k = startKeepalived(
    lan,
    1,
    lan.writeText('np.conf', keepalivedConf(config({ instances: [instance('VI_1', { virtualRouterId: 70, priority: 100, virtualIpaddress: [vip(addr)] })] }))),
    'np',
  );
  let t;
  try {
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 8000);
    t = startTsNode(
      lan,
      0,
      lan.writeJson(
        'np.json',
        config({ instances: [instance('VI_1', { virtualRouterId: 70, priority: 200, state: 'BACKUP', nopreempt: true, virtualIpaddress: [vip(addr)] })] }),
      ),
    );
    await waitFor('tskeepalived BACKUP', () => t!.has(/Entering BACKUP STATE/), 3000);
    await sleep(5500); // > Master_Down_Interval (3.2 s) + a margin
    assert.ok(!t.has(/Entering MASTER STATE/), 'no preemption');
    assert.ok(lan.hasAddress(1, addr) && !lan.hasAddress(0, addr));
    k.proc.kill('SIGTERM');
    await waitFor('tskeepalived takes over on priority 0', () => lan.hasAddress(0, addr), 2000, 5);
  } finally {
    t?.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t?.exited, k.exited]);
  }
});

test('auth PASS mismatch: a higher-priority master with the wrong password is ignored (counted, logged once)', { skip, timeout: 30_000 }, async () => {
  const addr = '10.62.0.71';
  const inst = (prio: number, pass: string) =>
    instance('VI_1', { virtualRouterId: 71, priority: prio, auth: { type: 'PASS', pass }, virtualIpaddress: [vip(addr)] });
  const k = startKeepalived(lan, 1, lan.writeText('auth.conf', keepalivedConf(config({ instances: [inst(150, 'wrong')] }))), 'auth');
  let t;
  try {
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 8000);
    t = startTsNode(lan, 0, lan.writeJson('auth.json', config({ instances: [inst(100, 'right')] })), [], { TKV_DUMP_DIR: lan.dir });
    await waitFor('tskeepalived BACKUP', () => t!.has(/Entering BACKUP STATE/), 3000);
    // keepalived's adverts (priority 150) are rejected, so the master-down timer runs out
    await waitFor('tskeepalived MASTER despite the adverts', () => lan.hasAddress(0, addr), 6000);
    await waitFor('rejection logged', () => t!.has(/advertisement rejected: auth-pass-mismatch/), 2000);
    assert.equal(t.lines.filter((l) => /advertisement rejected: auth-pass-mismatch/.test(l)).length, 1, 'logged once (rate limited)');
    const statsFile = join(lan.dir, 'keepalived.stats');
    t.proc.kill('SIGUSR2');
    await waitFor('stats dump', () => existsSync(statsFile), 2000);
    const stats = readFileSync(statsFile, 'utf8');
    const failures = Number(/Authentication Errors:[\s\S]*?Failure: (\d+)/.exec(stats)![1]);
    assert.ok(failures >= 3, `auth failures counted: ${failures}\n${stats}`);
    assert.match(stats, /Received: 0/, 'no advert accepted');
  } finally {
    t?.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t?.exited, k.exited]);
  }
});

test('unicast peers: tskeepalived MASTER and keepalived BACKUP over unicast; priority 0 over unicast', { skip, timeout: 30_000 }, async () => {
  const addr = '10.62.0.72';
  const inst = (me: number, peer: number, prio: number) =>
    instance('VI_1', {
      virtualRouterId: 72,
      priority: prio,
      unicastSrcIp: lan.addr4(me),
      unicastPeers: [{ address: lan.addr4(peer), loc }],
      virtualIpaddress: [vip(addr)],
    });
  const t = startTsNode(lan, 0, lan.writeJson('uc.json', config({ instances: [inst(0, 1, 150)] })));
  await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), 6000);
  const k = startKeepalived(lan, 1, lan.writeText('uc.conf', keepalivedConf(config({ instances: [inst(1, 0, 100)] }))), 'uc');
  try {
    await waitFor('keepalived BACKUP', () => k.has(/Entering BACKUP STATE/), 4000);
    await sleep(4500);
    assert.ok(!k.has(/Entering MASTER STATE/), 'keepalived hears our unicast adverts');
    assert.ok(!lan.hasAddress(1, addr));
    const t0 = Date.now();
    t.proc.kill('SIGTERM');
    await waitFor('keepalived takes over', () => lan.hasAddress(1, addr), 2500, 5);
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('VRRPv3 with an IPv6 VIP: tskeepalived MASTER, keepalived BACKUP, handover on stop', { skip, timeout: 30_000 }, async () => {
  const addr = 'fd62::73';
  const inst = (prio: number) =>
    instance('VI_6', { virtualRouterId: 73, version: 3, family: 6, priority: prio, advertInt: 500, virtualIpaddress: [vip(addr, 64)] });
  const t = startTsNode(lan, 0, lan.writeJson('v6.json', config({ instances: [inst(150)] })));
  await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), 6000);
  const k = startKeepalived(lan, 1, lan.writeText('v6.conf', keepalivedConf(config({ instances: [inst(100)] }))), 'v6');
  try {
    await waitFor('keepalived BACKUP', () => k.has(/Entering BACKUP STATE/), 4000);
    await sleep(3000);
    assert.ok(!k.has(/Entering MASTER STATE/), k.lines.join('\n'));
    const t0 = Date.now();
    t.proc.kill('SIGTERM');
    await waitFor('keepalived takes over', () => lan.hasAddress(1, addr), 2500, 5);
    assert.ok(Date.now() - t0 < 1200);
  } finally {
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('sync group: one member failing its track_script faults the group; keepalived takes both VIPs; notify scripts run', {
  skip,
  timeout: 40_000,
}, async () => {
  const flag = join(lan.dir, 'fail-flag');
  const notifyLog = join(lan.dir, 'notify.log');
  writeFileSync(notifyLog, '');
  const notify = { command: 'notify', argv: ['/bin/sh', '-c', `echo "$@" >> ${notifyLog}`, 'notify'], loc };
  const a = (prio: number, ts: boolean) =>
    instance('VI_A', {
      virtualRouterId: 74,
      priority: prio,
      virtualIpaddress: [vip('10.62.0.74')],
      trackScript: ts ? [{ name: 'chk', reverse: false, loc }] : [],
      notify: ts ? { notify } : {},
    });
  const b = (prio: number) => instance('VI_B', { virtualRouterId: 75, priority: prio, virtualIpaddress: [vip('10.62.0.75')] });
  const group = (ts: boolean) => ({
    name: 'G',
    members: ['VI_A', 'VI_B'],
    notify: ts ? { notify } : {},
    globalTracking: false,
    syncGroupTrackingWeight: false,
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    loc,
  });
  const script = {
    name: 'chk',
    script: { command: 'chk', argv: ['/bin/sh', '-c', `test ! -e ${flag}`], loc },
    interval: 200,
    timeout: 1000,
    weight: 0,
    weightReverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    loc,
  };
  const t = startTsNode(lan, 0, lan.writeJson('sg.json', config({ instances: [a(150, true), b(150)], scripts: [script], syncGroups: [group(true)] })));
  await waitFor('tskeepalived MASTER for both', () => lan.hasAddress(0, '10.62.0.74') && lan.hasAddress(0, '10.62.0.75'), 6000);
  const k = startKeepalived(lan, 1, lan.writeText('sg.conf', keepalivedConf(config({ instances: [a(100, false), b(100)], syncGroups: [group(false)] }))), 'sg');
  try {
    await waitFor('keepalived BACKUP', () => k.has(/Entering BACKUP STATE/), 4000);
    await sleep(1000);
    writeFileSync(flag, '');
    await waitFor('keepalived takes both VIPs', () => lan.hasAddress(1, '10.62.0.74') && lan.hasAddress(1, '10.62.0.75'), 4000, 10);
    assert.ok(!lan.hasAddress(0, '10.62.0.74') && !lan.hasAddress(0, '10.62.0.75'));
    await waitFor(
      'notify: instance and group FAULT',
      () => /INSTANCE VI_A FAULT/.test(readFileSync(notifyLog, 'utf8')) && /GROUP G FAULT/.test(readFileSync(notifyLog, 'utf8')),
      2000,
    );
    const log = readFileSync(notifyLog, 'utf8');
    assert.match(log, /INSTANCE VI_A MASTER 150/);
    assert.match(log, /GROUP G MASTER/);
    unlinkSync(flag);
    await waitFor('tskeepalived preempts both back', () => lan.hasAddress(0, '10.62.0.74') && lan.hasAddress(0, '10.62.0.75'), 8000);
  } finally {
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('interface down -> FAULT (VIP released, keepalived takes over); up -> BACKUP then preempts back', { skip, timeout: 40_000 }, async () => {
  const addr = '10.62.0.76';
  const inst = (prio: number) => instance('VI_1', { virtualRouterId: 76, priority: prio, virtualIpaddress: [vip(addr)] });
  const t = startTsNode(lan, 0, lan.writeJson('lk.json', config({ instances: [inst(150)] })));
  await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), 6000);
  const k = startKeepalived(lan, 1, lan.writeText('lk.conf', keepalivedConf(config({ instances: [inst(100)] }))), 'lk');
  try {
    await waitFor('keepalived BACKUP', () => k.has(/Entering BACKUP STATE/), 4000);
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'down']);
    await waitFor('tskeepalived FAULT', () => t.has(/Entering FAULT STATE/), 2000, 5);
    await waitFor('VIP released', () => !lan.hasAddress(0, addr), 1000, 5);
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 6000);
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'up']);
    await waitFor('tskeepalived preempts back', () => lan.hasAddress(0, addr) && !lan.hasAddress(1, addr), 10_000);
  } finally {
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'up']);
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('virtual_routes, virtual_rules and an excluded VIP with a label follow MASTER; SIGHUP reload keeps an unchanged instance', {
  skip,
  timeout: 30_000,
}, async () => {
  const ns = lan.namespaces[0];
  const mk = (extraVip: boolean) =>
    config({
      instances: [
        instance('VI_R', {
          virtualRouterId: 77,
          priority: 255,
          virtualIpaddress: [vip('10.62.0.77')],
          virtualIpaddressExcluded: [vip('10.62.0.78', 24, { label: 'eth0:ex' })],
          virtualRoutes: [{ dst: { address: '10.99.7.0', prefixLen: 24, family: 4 }, via: lan.addr4(1), noTrack: false, options: {}, loc }],
          virtualRules: [{ from: { address: '10.62.0.77', prefixLen: 32, family: 4 }, table: 177, options: {}, family: 4, loc }],
        }),
        instance('VI_S', { virtualRouterId: 79, priority: 255, virtualIpaddress: extraVip ? [vip('10.62.0.79'), vip('10.62.0.80')] : [vip('10.62.0.79')] }),
      ],
    });
  const conf = lan.writeJson('routes.json', mk(false));
  const t = startTsNode(lan, 0, conf);
  try {
    await waitFor('VIPs', () => lan.hasAddress(0, '10.62.0.77') && lan.hasAddress(0, '10.62.0.78') && lan.hasAddress(0, '10.62.0.79'), 4000);
    await waitFor('route', () => sh('ip', ['-n', ns, 'route', 'show', '10.99.7.0/24']).out.includes(`via ${lan.addr4(1)}`), 2000);
    await waitFor('rule', () => sh('ip', ['-n', ns, 'rule', 'show']).out.includes('from 10.62.0.77 lookup 177'), 2000);
    assert.match(sh('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0']).out, /10\.62\.0\.78\/24 .*eth0:ex/);
    // reload: VI_R unchanged (no transition), VI_S changed (restarted with the extra VIP)
    await waitFor('MASTER logged', () => t.has(/\(VI_R\) Entering MASTER STATE/), 2000);
    const before = t.lines.filter((l) => /\(VI_R\) Entering/.test(l)).length;
    lan.writeJson('routes.json', mk(true));
    t.proc.kill('SIGHUP');
    await waitFor('changed instance has its new VIP', () => lan.hasAddress(0, '10.62.0.80'), 4000);
    await sleep(300);
    assert.equal(t.lines.filter((l) => /\(VI_R\) Entering/.test(l)).length, before, 'no transition of the unchanged instance');
    assert.ok(lan.hasAddress(0, '10.62.0.77'));
    t.proc.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    assert.ok(!sh('ip', ['-n', ns, 'route', 'show', '10.99.7.0/24']).out.includes('via'), 'route removed on stop');
    assert.ok(!sh('ip', ['-n', ns, 'rule', 'show']).out.includes('lookup 177'), 'rule removed on stop');
    assert.ok(!lan.hasAddress(0, '10.62.0.78'));
  } finally {
    t.proc.kill('SIGTERM');
    await t.exited;
  }
});
