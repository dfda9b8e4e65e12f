// SIGHUP reloads against a watching peer, in network namespaces:
//  - 20 SIGHUPs with unchanged instances: 0 transitions, the VIP never leaves the master;
//  - adding an instance by reload brings its VIP, removing it releases the VIP.
// Transitions are counted from the master's notify_fifo (keepalived's line protocol).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, scratch, hasAddress, isRoot, makePair, startIn, waitUntil } from './daemon-netns.js';

const PREFIX = `tkd-${process.pid}`;
const { work, procs, labs } = scratch('reload');

const skip = !isRoot() ? 'needs root (network namespaces)' : false;

function conf(routerId: string, priority: number, fifoOut: string | undefined, withSecond: boolean): string {
  const fifo = fifoOut ? `    notify_fifo ${fifoOut}.fifo\n    notify_fifo_script "/bin/sh -c 'exec cat \\"$1\\" >> ${fifoOut}' reader"\n` : '';
  const inst = (name: string, vrid: number, vip: string) => `
vrrp_instance ${name} {
    state BACKUP
    interface eth0
    virtual_router_id ${vrid}
    priority ${priority}
    advert_int 1
    virtual_ipaddress {
        ${vip}/24 dev eth0
    }
}
`;
  return `global_defs {\n    router_id ${routerId}\n${fifo}}\n${inst('VI_1', 61, '10.213.0.100')}${withSecond ? inst('VI_2', 62, '10.213.0.101') : ''}`;
}

function fifoLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

test('reloads: 20 unchanged SIGHUPs cause no transition and no VIP loss; add/remove an instance', { skip, timeout: 120000 }, async (t) => {
  const lab = makePair(`${PREFIX}-r`, 213);
  labs.push(lab.destroy);
  const fifoA = join(work, 'a.fifo.out');
  const fifoB = join(work, 'b.fifo.out');
  const confA = join(work, 'a.conf');
  const confB = join(work, 'b.conf');
  writeFileSync(confA, conf('node-a', 200, fifoA, false));
  writeFileSync(confB, conf('node-b', 100, fifoB, false));
  const a = startIn(lab.a, BIN, ['-n', '-l', '-G', '-f', confA, '-p', join(work, 'a.pid')]);
  procs.push(a);
  await waitUntil('node-a MASTER with the VIP', () => hasAddress(lab.a, '10.213.0.100'), 10000);
  const b = startIn(lab.b, BIN, ['-n', '-l', '-G', '-f', confB, '-p', join(work, 'b.pid')]);
  procs.push(b);
  await waitUntil('node-b BACKUP', () => fifoLines(fifoB).some((l) => l.startsWith('INSTANCE "VI_1" BACKUP')), 10000);
  await new Promise((r) => setTimeout(r, 1500));
  const linesA0 = fifoLines(fifoA).length;
  const linesB0 = fifoLines(fifoB).length;

  // 20 SIGHUPs, 300 ms apart, while sampling the VIP every 20 ms
  let samples = 0;
  let lost = 0;
  let peerHeld = 0;
  const sampler = setInterval(() => {
    samples++;
    if (!hasAddress(lab.a, '10.213.0.100')) lost++;
    if (hasAddress(lab.b, '10.213.0.100')) peerHeld++;
  }, 20);
  for (let i = 0; i < 20; i++) {
    a.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
  }
  await new Promise((r) => setTimeout(r, 1500));
  clearInterval(sampler);
  const reloadsLogged = (a.output().match(/configuration reloaded/g) ?? []).length;
  t.diagnostic(`${reloadsLogged} reloads applied, ${samples} VIP samples, lost ${lost}, peer held ${peerHeld}`);
  assert.ok(reloadsLogged >= 10, `reloads applied: ${reloadsLogged}`);
  assert.equal(lost, 0, 'the VIP never left the master');
  assert.equal(peerHeld, 0, 'the peer never took the VIP');
  assert.deepEqual(fifoLines(fifoA).slice(linesA0), [], 'no transition on the master');
  assert.deepEqual(fifoLines(fifoB).slice(linesB0), [], 'no transition on the peer');
  assert.ok(alive(a) && alive(b));

  // add VI_2 by reload on node-a only: it becomes MASTER for it (nobody else has vrid 62)
  writeFileSync(confA, conf('node-a', 200, fifoA, true));
  a.child.kill('SIGHUP');
  await waitUntil('VI_2 VIP added by reload', () => hasAddress(lab.a, '10.213.0.101'), 10000);
  assert.ok(fifoLines(fifoA).some((l) => l.startsWith('INSTANCE "VI_2" MASTER')));
  assert.ok(hasAddress(lab.a, '10.213.0.100'));
  // remove it again
  writeFileSync(confA, conf('node-a', 200, fifoA, false));
  a.child.kill('SIGHUP');
  await waitUntil('VI_2 VIP removed by reload', () => !hasAddress(lab.a, '10.213.0.101'), 10000);
  assert.ok(hasAddress(lab.a, '10.213.0.100'), 'VI_1 unaffected');
  const vi1After = fifoLines(fifoA)
    .slice(linesA0)
    .filter((l) => l.startsWith('INSTANCE "VI_1"'));
  assert.deepEqual(vi1After, [], 'VI_1 had no transition while VI_2 was added and removed');

  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal((await a.exited()).code, 0);
  assert.equal((await b.exited()).code, 0);
});

// A sync group on a master with a watching peer, and a virtual server (dry-run LB): reloads that add
// and remove a group member, an instance, a real server and a member's second VIP leave the other
// instances' state, their VIPs and the healthy real server alone (the member with the VIP keeps its
// state, as keepalived's reload does); a group fault carried across a reload clears on recovery.
function groupConf(o: { fifoOut: string; flag: string; priority: number; third: boolean; fourth: boolean; rs2: boolean; vip2: boolean }): string {
  const inst = (name: string, vrid: number, vip: string, extra = '', more = '') => `
vrrp_instance ${name} {
    state BACKUP
    interface eth0
    virtual_router_id ${vrid}
    priority ${o.priority}
    advert_int 1
    garp_master_delay 0
${extra}    virtual_ipaddress {
        ${vip}/24 dev eth0
${more}    }
}
`;
  const rs = (n: number) => `    real_server 10.215.0.${n} 80 {
        MISC_CHECK {
            misc_path /bin/true
        }
    }
`;
  // vrrp_skip_check_adv_addr: the peer keeps VI_2's old address list, whose adverts it would
  // otherwise reject (address mismatch, as keepalived) and take VI_2 over while the lists differ
  return `global_defs {
    router_id node-${o.priority}
    vrrp_skip_check_adv_addr
    enable_script_security
    script_user root
    notify_fifo ${o.fifoOut}.fifo
    notify_fifo_script "/bin/sh -c 'exec cat \\"$1\\" >> ${o.fifoOut}' reader"
}
vrrp_script flag {
    script "/usr/bin/test -f ${o.flag}"
    interval 1
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
${o.third ? '        VI_3\n' : ''}    }
}
${inst('VI_1', 71, '10.215.0.100', '    track_script {\n        flag\n    }\n')}${inst('VI_2', 72, '10.215.0.101', '', o.vip2 ? '        10.215.0.110/24 dev eth0\n' : '')}${o.third ? inst('VI_3', 73, '10.215.0.102') : ''}${o.fourth ? inst('VI_4', 74, '10.215.0.103') : ''}
virtual_server 10.215.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
${rs(11)}${o.rs2 ? rs(12) : ''}}
`;
}

test('reloads with a sync group: members, instances and a VIP added/removed, a group fault across a reload', { skip, timeout: 120000 }, async (t) => {
  const lab = makePair(`${PREFIX}-g`, 215);
  labs.push(lab.destroy);
  const flag = join(work, 'flag');
  writeFileSync(flag, '');
  const fifoA = join(work, 'ga.fifo.out');
  const fifoB = join(work, 'gb.fifo.out');
  const confA = join(work, 'ga.conf');
  const confB = join(work, 'gb.conf');
  const base = { flag, third: false, fourth: false, rs2: false, vip2: false };
  writeFileSync(confA, groupConf({ ...base, fifoOut: fifoA, priority: 200 }));
  writeFileSync(confB, groupConf({ ...base, fifoOut: fifoB, priority: 100 }));
  const a = startIn(lab.a, BIN, ['-n', '-l', '-G', '--lb-backend=dry-run', '-f', confA, '-p', join(work, 'ga.pid')]);
  procs.push(a);
  await waitUntil('node-a MASTER of G1', () => hasAddress(lab.a, '10.215.0.100') && hasAddress(lab.a, '10.215.0.101'), 10000);
  const b = startIn(lab.b, BIN, ['-n', '-l', '-G', '-P', '-f', confB, '-p', join(work, 'gb.pid')]);
  procs.push(b);
  await waitUntil('node-b BACKUP', () => fifoLines(fifoB).some((l) => l.startsWith('GROUP "G1" BACKUP')), 10000);
  await new Promise((r) => setTimeout(r, 1200));
  const linesA0 = fifoLines(fifoA).length;
  const linesB0 = fifoLines(fifoB).length;
  const out0 = a.output().length;
  let samples = 0;
  let lost = 0;
  const sampler = setInterval(() => {
    samples++;
    for (const v of ['10.215.0.100', '10.215.0.101']) if (!hasAddress(lab.a, v)) lost++;
  }, 20);
  const reload = async (o: Partial<typeof base>, what: string, cond: () => boolean) => {
    const before = (a.output().match(/configuration reloaded/g) ?? []).length;
    writeFileSync(confA, groupConf({ ...base, ...o, fifoOut: fifoA, priority: 200 }));
    a.child.kill('SIGHUP');
    await waitUntil(`reload: ${what}`, () => (a.output().match(/configuration reloaded/g) ?? []).length > before && cond(), 10000);
  };
  // VI_3 joins G1, VI_4 (no group) arrives with a second real server, VI_2 gets a second VIP; then all go again
  await reload({ third: true, fourth: true, rs2: true, vip2: true }, 'VI_3, VI_4, 10.215.0.12 and 10.215.0.110 added', () =>
    ['10.215.0.102', '10.215.0.103', '10.215.0.110'].every((v) => hasAddress(lab.a, v)),
  );
  await reload({}, 'VI_3, VI_4, 10.215.0.12 and 10.215.0.110 removed', () =>
    ['10.215.0.102', '10.215.0.103', '10.215.0.110'].every((v) => !hasAddress(lab.a, v)),
  );
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);
  const changes = fifoLines(fifoA).slice(linesA0);
  t.diagnostic(`${samples} samples of 2 VIPs, lost ${lost}; node-a notify lines: ${changes.join(' | ')}`);
  assert.equal(lost, 0, 'the unchanged members kept their VIPs');
  assert.deepEqual(
    changes.filter((l) => /"(VI_1|VI_2|G1)"/.test(l)),
    [],
    'no transition of G1 or its unchanged members',
  );
  assert.deepEqual(fifoLines(fifoB).slice(linesB0), [], 'no transition on the peer');
  // the healthy real server is, with a weight, in every LB state the dry-run backend printed since
  const states: string[][] = [];
  for (const l of a.output().slice(out0).split('\n')) {
    if (l.startsWith('-A ')) states.push([]);
    else if (l.startsWith('-a ')) states.at(-1)?.push(l);
  }
  t.diagnostic(`LB states printed since the first reload: ${states.length}`);
  assert.ok(
    states.some((s) => s.some((l) => l.includes('-r 10.215.0.12:80'))),
    'the added real server reached the LB',
  );
  assert.ok(
    states.at(-1)?.every((l) => !l.includes('-r 10.215.0.12:80')),
    'the removed real server left the LB',
  );
  for (const s of states)
    assert.ok(
      s.some((l) => /-r 10\.215\.0\.11:80 .*-w [1-9]/.test(l)),
      `healthy real server missing from an LB state: ${s.join(' / ')}`,
    );

  // VI_1 faults (its script fails): G1 faults VI_2 too and node-b takes both VIPs
  const faultFrom = fifoLines(fifoA).length;
  rmSync(flag);
  await waitUntil(
    'G1 FAULT on node-a',
    () =>
      fifoLines(fifoA)
        .slice(faultFrom)
        .some((l) => l.startsWith('INSTANCE "VI_2" FAULT')),
    10000,
  );
  // a reload while the group is faulty, then the script recovers: both members come back
  await reload({}, 'unchanged, while G1 is faulty', () => true);
  writeFileSync(flag, '');
  await waitUntil('VI_1 and VI_2 MASTER again after recovery', () => hasAddress(lab.a, '10.215.0.100') && hasAddress(lab.a, '10.215.0.101'), 10000);
  assert.ok(alive(a) && alive(b));
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal((await a.exited()).code, 0);
  assert.equal((await b.exited()).code, 0);
});
