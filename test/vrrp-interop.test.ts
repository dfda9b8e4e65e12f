// Proof on the wire: tskeepalived against itself and against keepalived 2.2.7, in network namespaces.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { config, instance, vip, keepalivedConf, Lan, startTsNode, startTsDaemon, startKeepalived, waitFor, sleep, isRoot, sh } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived');
const skip = canRun ? false : 'needs root and keepalived';
let lan: Lan;
let n = 0;
const vrid = () => 60 + n++;

before(() => {
  if (canRun) lan = new Lan(`tkv-${process.pid}`, 3, '10.61.0', 'fd61');
});
after(() => lan?.cleanup());

function macOf(nsIndex: number): string {
  return sh('ip', ['-n', lan.namespaces[nsIndex], '-o', 'link', 'show', 'eth0']).out.match(/link\/ether ([0-9a-f:]+)/)![1];
}

test('two tskeepalived nodes: the higher priority is MASTER and holds the VIP; SIGTERM hands over', { skip, timeout: 30_000 }, async () => {
  const id = vrid();
  const addr = `10.61.0.${id}`;
  const hi = lan.writeJson(`t1-hi.json`, config({ instances: [instance('VI_1', { virtualRouterId: id, priority: 150, virtualIpaddress: [vip(addr)] })] }));
  const lo = lan.writeJson(`t1-lo.json`, config({ instances: [instance('VI_1', { virtualRouterId: id, priority: 100, virtualIpaddress: [vip(addr)] })] }));
  const a = startTsNode(lan, 0, hi);
  const b = startTsNode(lan, 1, lo);
  try {
    await waitFor('VIP on the high-priority node', () => lan.hasAddress(0, addr), 6000);
    await sleep(1500);
    assert.ok(lan.hasAddress(0, addr));
    assert.ok(!lan.hasAddress(1, addr), 'the backup does not hold the VIP');
    assert.ok(b.has(/Entering BACKUP STATE/) && !b.has(/Entering MASTER STATE/), b.lines.join('\n'));
    const t0 = Date.now();
    a.proc.kill('SIGTERM');
    assert.equal(await a.exited, 0);
    await waitFor('VIP on the backup after priority 0', () => lan.hasAddress(1, addr), 2000, 5);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `takeover took ${took} ms`);
    assert.ok(!lan.hasAddress(0, addr), 'the stopped node released the VIP');
  } finally {
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGTERM');
    await b.exited;
  }
});

test('mixed pair (bin/tskeepalived -P on keepalived.conf): tskeepalived MASTER over keepalived BACKUP; SIGTERM -> keepalived takes over in ~1 s; restart -> preempts back', {
  skip,
  timeout: 40_000,
}, async () => {
  const id = vrid();
  const addr = `10.61.0.${id}`;
  const inst = (prio: number) =>
    instance('VI_1', { virtualRouterId: id, priority: prio, state: 'BACKUP', virtualIpaddress: [vip(addr)], auth: { type: 'PASS', pass: 'sEcret99' } });
  const kconf = lan.writeText('t2-ka.conf', keepalivedConf(config({ instances: [inst(100)] })));
  // tskeepalived runs as the full daemon on the same keepalived.conf syntax
  const tconf = lan.writeText('t2-ts.conf', keepalivedConf(config({ instances: [inst(150)] })));
  let t = startTsDaemon(lan, 0, tconf, 't2-ts');
  await waitFor('tskeepalived MASTER with the VIP', () => lan.hasAddress(0, addr), 6000);
  const k = startKeepalived(lan, 1, kconf, 't2');
  try {
    await waitFor('keepalived BACKUP', () => k.has(/Entering BACKUP STATE/), 3000);
    await sleep(2000);
    assert.ok(!lan.hasAddress(1, addr), 'keepalived stays BACKUP');
    assert.ok(!k.has(/Entering MASTER STATE/), k.lines.join('\n'));
    const t0 = Date.now();
    t.proc.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    await waitFor('keepalived MASTER after priority 0', () => lan.hasAddress(1, addr), 3000, 5);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `keepalived took over after ${took} ms`);
    assert.ok(!lan.hasAddress(0, addr));
    t = startTsDaemon(lan, 0, tconf, 't2-ts');
    await waitFor('tskeepalived preempts back', () => lan.hasAddress(0, addr), 8000);
    await waitFor('keepalived releases the VIP', () => !lan.hasAddress(1, addr), 2000);
    await waitFor('keepalived logs BACKUP again', () => k.lines.filter((l) => /Entering BACKUP STATE/.test(l)).length >= 2, 2000);
  } finally {
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('SIGSTOP keepalived MASTER: tskeepalived takes over within Master_Down_Interval + 100 ms and sends gratuitous ARP', {
  skip,
  timeout: 40_000,
}, async () => {
  const id = vrid();
  const addr = `10.61.0.${id}`;
  const inst = (prio: number) => instance('VI_1', { virtualRouterId: id, priority: prio, virtualIpaddress: [vip(addr)] });
  const kconf = lan.writeText('t3-ka.conf', keepalivedConf(config({ instances: [inst(200)] })));
  const k = startKeepalived(lan, 1, kconf, 't3');
  const t = startTsNode(lan, 0, lan.writeJson('t3-ts.json', config({ instances: [inst(100)] })));
  let stopped: number | undefined;
  try {
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 8000);
    await waitFor('tskeepalived BACKUP', () => t.has(/Entering BACKUP STATE/), 3000);
    // the observer knows the VIP at keepalived's MAC; a gratuitous ARP must move it
    sh('ip', ['netns', 'exec', lan.namespaces[2], 'sysctl', '-qw', 'net.ipv4.conf.eth0.arp_accept=1']);
    sh('ip', ['-n', lan.namespaces[2], 'neigh', 'replace', addr, 'lladdr', macOf(1), 'dev', 'eth0', 'nud', 'stale']);
    const neigh = () => sh('ip', ['-n', lan.namespaces[2], 'neigh', 'show', addr]).out;
    assert.match(neigh(), new RegExp(macOf(1)));
    await sleep(300);
    const vpid = k.vrrpPid();
    assert.ok(vpid, 'keepalived VRRP child pid');
    const mdi = 3000 + ((256 - 100) * 1000) / 256;
    const t0 = Date.now();
    process.kill(vpid!, 'SIGSTOP');
    stopped = vpid;
    await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), mdi + 1500, 2);
    const took = Date.now() - t0;
    assert.ok(took <= mdi + 100, `took over ${took} ms after SIGSTOP (MDI ${mdi})`);
    assert.ok(took >= mdi - 1000 - 50, `took over too early: ${took} ms`);
    await waitFor('observer ARP entry moved to tskeepalived', () => neigh().includes(macOf(0)), 1000);
  } finally {
    if (stopped) process.kill(stopped, 'SIGCONT');
    t.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t.exited, k.exited]);
  }
});

test('a VIP removed by hand on the MASTER is restored', { skip, timeout: 20_000 }, async () => {
  const id = vrid();
  const addr = `10.61.0.${id}`;
  const t = startTsNode(
    lan,
    0,
    lan.writeJson('t5.json', config({ instances: [instance('VI_1', { virtualRouterId: id, priority: 255, virtualIpaddress: [vip(addr)] })] })),
  );
  try {
    await waitFor('owner MASTER at once', () => lan.hasAddress(0, addr), 2000);
    const r = sh('ip', ['-n', lan.namespaces[0], 'addr', 'del', `${addr}/24`, 'dev', 'eth0']);
    assert.equal(r.code, 0, r.out);
    await waitFor('restore logged', () => t.has(/was removed from eth0 while MASTER, restoring/), 2000, 5);
    await waitFor('VIP restored', () => lan.hasAddress(0, addr), 2000, 5);
  } finally {
    t.proc.kill('SIGTERM');
    await t.exited;
  }
});
