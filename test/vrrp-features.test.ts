// nopreempt, auth PASS mismatch, unicast peers, VRRPv3 with an IPv6 VIP, a sync group with tracking
// and notify scripts: tskeepalived and keepalived 2.2.7 in network namespaces.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { advertisedPriorities, config, instance, vip, keepalivedConf, Lan, startTsNode, startKeepalived, waitFor, sleep, isRoot, sh } from './vrrp-helpers.js';

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

// Tracking weights, live against keepalived 2.2.7 on the same keepalived.conf: `weight N reverse`
// negates the amount (not the state), and a sync group member without sync_group_tracking_weight
// ignores its weighted scripts and files (a track file at the default weight becomes FAULT-on-non-zero)
// but, as keepalived 2.2.7 does, still applies a weighted track_interface despite its warning.
const TRACK_EXPECTED: Record<number, number | undefined> = {
  81: 90, // chk_ok weight 10 reverse
  82: 110, // chk_fail weight -10 reverse
  83: 100, // chk_ok weight -10 reverse
  84: 100, // chk_fail weight 10 reverse
  85: 90, // track_interface lo weight 10 reverse (up)
  86: 94, // track_file (value 3) weight 2 reverse
  87: 120, // sync group G1: chk_ok weight 10 ignored, lo weight 20 still applied, tf0 (0) -> weight 0
  88: 90,
  89: 110, // sync group G2 with sync_group_tracking_weight: chk_ok weight 10 counts
  90: 90,
  91: undefined, // sync group G3: tf3 (value 3) at the default weight -> weight 0 -> FAULT, no adverts
  92: undefined,
};

function trackConf(dir: string): string {
  const inst = (name: string, vrid: number, prio: number, ...track: string[]) =>
    [
      `vrrp_instance ${name} {`,
      '    state BACKUP',
      '    interface eth0',
      `    virtual_router_id ${vrid}`,
      `    priority ${prio}`,
      '    advert_int 1',
      ...track.map((l) => `    ${l}`),
      '    virtual_ipaddress {',
      `        10.62.1.${vrid}/32`,
      '    }',
      '}',
    ].join('\n');
  const group = (name: string, members: string[], weighted: boolean) =>
    [
      `vrrp_sync_group ${name} {`,
      '    group {',
      ...members.map((m) => `        ${m}`),
      '    }',
      ...(weighted ? ['    sync_group_tracking_weight'] : []),
      '}',
    ].join('\n');
  return [
    'global_defs {',
    '    script_user root',
    '    enable_script_security',
    '}',
    'vrrp_script chk_ok {',
    '    script "/bin/true"',
    '    interval 1',
    '}',
    'vrrp_script chk_fail {',
    '    script "/bin/false"',
    '    interval 1',
    '}',
    `vrrp_track_file tf3 {\n    file ${join(dir, 'tf3')}\n}`,
    `vrrp_track_file tf0 {\n    file ${join(dir, 'tf0')}\n}`,
    group('G1', ['VI_S1', 'VI_S2'], false),
    group('G2', ['VI_W1', 'VI_W2'], true),
    group('G3', ['VI_T1', 'VI_T2'], false),
    inst('VI_A', 81, 100, 'track_script {', '    chk_ok weight 10 reverse', '}'),
    inst('VI_B', 82, 100, 'track_script {', '    chk_fail weight -10 reverse', '}'),
    inst('VI_C', 83, 100, 'track_script {', '    chk_ok weight -10 reverse', '}'),
    inst('VI_D', 84, 100, 'track_script {', '    chk_fail weight 10 reverse', '}'),
    inst('VI_E', 85, 100, 'track_interface {', '    lo weight 10 reverse', '}'),
    inst('VI_F', 86, 100, 'track_file {', '    tf3 weight 2 reverse', '}'),
    inst('VI_S1', 87, 100, 'track_script {', '    chk_ok weight 10', '}', 'track_interface {', '    lo weight 20', '}', 'track_file {', '    tf0', '}'),
    inst('VI_S2', 88, 90),
    inst('VI_W1', 89, 100, 'track_script {', '    chk_ok weight 10', '}'),
    inst('VI_W2', 90, 90),
    inst('VI_T1', 91, 100, 'track_file {', '    tf3', '}'),
    inst('VI_T2', 92, 90),
    '',
  ].join('\n');
}

test('tracking weights: reverse and sync groups advertise the priorities keepalived 2.2.7 advertises on the same config', {
  skip: canRun && existsSync('/usr/bin/tcpdump') ? false : 'needs root, keepalived and tcpdump',
  timeout: 60_000,
}, async () => {
  writeFileSync(join(lan.dir, 'tf3'), '3\n');
  writeFileSync(join(lan.dir, 'tf0'), '0\n');
  const conf = lan.writeText('track.conf', trackConf(lan.dir));
  const run = async (start: () => ReturnType<typeof startTsNode>, who: string) => {
    const node = start();
    try {
      await waitFor(`${who}: VI_A and VI_S1 MASTER`, () => lan.hasAddress(0, '10.62.1.81') && lan.hasAddress(0, '10.62.1.87'), 10_000, 50);
      await sleep(1500); // a few script runs after MASTER
      return advertisedPriorities(lan.namespaces[1]);
    } finally {
      node.proc.kill('SIGTERM');
      await Promise.race([node.exited, sleep(5000)]);
    }
  };
  const theirs = await run(() => startKeepalived(lan, 0, conf, 'track'), 'keepalived');
  await waitFor('keepalived released its VIPs', () => !lan.hasAddress(0, '10.62.1.81'), 5000, 50);
  const ours = await run(() => startTsNode(lan, 0, conf), 'tskeepalived');
  const row = (m: Map<number, number>) => Object.fromEntries(Object.keys(TRACK_EXPECTED).map((v) => [v, m.get(Number(v))]));
  assert.deepEqual(row(theirs), TRACK_EXPECTED, 'keepalived 2.2.7 advertises the documented priorities');
  assert.deepEqual(row(ours), row(theirs), 'tskeepalived advertises what keepalived advertises');
});
