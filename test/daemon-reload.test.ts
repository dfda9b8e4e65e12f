// SIGHUP reloads against a watching peer, in network namespaces:
//  - 20 SIGHUPs with unchanged instances: 0 transitions, the VIP never leaves the master;
//  - adding an instance by reload brings its VIP, removing it releases the VIP.
// Transitions are counted from the master's notify_fifo (keepalived's line protocol).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  const vi1After = fifoLines(fifoA).slice(linesA0).filter((l) => l.startsWith('INSTANCE "VI_1"'));
  assert.deepEqual(vi1After, [], 'VI_1 had no transition while VI_2 was added and removed');

  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal((await a.exited()).code, 0);
  assert.equal((await b.exited()).code, 0);
});
