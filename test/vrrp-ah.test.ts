// VRRPv2 `auth_type AH` on the wire: tskeepalived (bin/tskeepalived -P on keepalived.conf) and a real
// keepalived 2.2.7 share one virtual router with IPsec AH authentication, in network namespaces.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openAhDatagram, IPPROTO_AH } from '../src/vrrp/ah.js';
import { decodeAdvert } from '../src/vrrp/packet.js';
import { config, instance, vip, keepalivedConf, Lan, startTsDaemon, startKeepalived, waitFor, sleep, isRoot, sh } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived') && existsSync('/usr/bin/tcpdump');
const skip = canRun ? false : 'needs root, keepalived and tcpdump';
let lan: Lan;

before(() => {
  if (canRun) lan = new Lan(`tkah-${process.pid}`, 3, '10.64.0', 'fd64');
});
after(() => lan?.cleanup());

const ahInstance = (id: number, prio: number, pass: string, addr: string) =>
  instance('VI_1', { virtualRouterId: id, priority: prio, state: 'BACKUP', auth: { type: 'AH', pass }, virtualIpaddress: [vip(addr)] });

/** tcpdump in the observer namespace: one hex line per IPv4 datagram (link header stripped). */
function capture(nsIndex: number, filter: string, tag: string) {
  const file = join(lan.dir, `${tag}.pcap`);
  const p = spawn('ip', ['netns', 'exec', lan.namespaces[nsIndex], 'tcpdump', '-U', '--immediate-mode', '-n', '-i', 'eth0', '-w', file, filter], {
    stdio: 'ignore',
  });
  lan.procs.push(p);
  const exited = new Promise((r) => p.on('exit', r));
  return {
    async stop(): Promise<Buffer[]> {
      p.kill('SIGINT');
      await exited;
      const out = sh('tcpdump', ['-n', '-x', '-r', file]).out;
      const packets: Buffer[] = [];
      let hex = '';
      for (const line of out.split('\n')) {
        if (/^\s+0x/.test(line)) hex += line.replace(/^\s+0x[0-9a-f]+:\s*/, '').replace(/\s+/g, '');
        else if (/^\d/.test(line)) {
          if (hex) packets.push(Buffer.from(hex, 'hex'));
          hex = '';
        }
      }
      if (hex) packets.push(Buffer.from(hex, 'hex'));
      return packets;
    },
  };
}

/** SIGUSR2 -> $TMPDIR/keepalived.stats, written anew; its authentication Failure count. */
async function dumpedFailures(pid: number, statsFile: string): Promise<number> {
  rmSync(statsFile, { force: true });
  process.kill(pid, 'SIGUSR2');
  let failures = -1;
  await waitFor(
    'stats dump',
    () => {
      if (!existsSync(statsFile)) return false;
      const m = /Authentication Errors:[\s\S]*?Failure: (\d+)[\s\S]*Priority Zero/.exec(readFileSync(statsFile, 'utf8'));
      if (m) failures = Number(m[1]);
      return m !== null;
    },
    2000,
  );
  return failures;
}

test('AH: tskeepalived MASTER, keepalived BACKUP accepts its AH adverts; on the wire: protocol 51, valid ICV, SPI = source, rising sequence; SIGTERM -> keepalived takes over', {
  skip,
  timeout: 40_000,
}, async () => {
  const id = 80;
  const addr = '10.64.0.80';
  const tconf = lan.writeText('a1-ts.conf', keepalivedConf(config({ instances: [ahInstance(id, 150, 'Ah-pass1', addr)] })));
  const kconf = lan.writeText('a1-ka.conf', keepalivedConf(config({ instances: [ahInstance(id, 100, 'Ah-pass1', addr)] })));
  const cap = capture(2, `host ${lan.addr4(0)} and (ip proto 51 or ip proto 112)`, 'a1');
  await sleep(300);
  const t = startTsDaemon(lan, 0, tconf, 'a1-ts');
  let k: ReturnType<typeof startKeepalived> | undefined;
  try {
    await waitFor('tskeepalived MASTER with the VIP', () => lan.hasAddress(0, addr), 6000);
    k = startKeepalived(lan, 1, kconf, 'a1');
    await waitFor('keepalived BACKUP', () => k!.has(/Entering BACKUP STATE/), 3000);
    await sleep(4500); // > keepalived's Master_Down_Interval (3.6 s)
    assert.ok(!k.has(/Entering MASTER STATE/), `keepalived accepted our AH adverts\n${k.lines.join('\n')}`);
    assert.ok(!lan.hasAddress(1, addr), 'keepalived does not hold the VIP');
    assert.ok(!k.has(/IPSEC-AH|auth|sequence number/i), `no AH complaint from keepalived\n${k.lines.join('\n')}`);
    const t0 = Date.now();
    t.proc.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    await waitFor('keepalived MASTER after our priority-0 AH advert', () => lan.hasAddress(1, addr), 3000, 5);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `keepalived took over after ${took} ms (priority 0 accepted)`);
    const packets = await cap.stop();
    // one a second for the 4.5 s or more between MASTER and SIGTERM (5 or 6, one fewer when a
    // timer slips past the end on a busy machine), then the priority-0 one
    assert.ok(packets.length >= 5, `${packets.length} packets captured`);
    const seqs: number[] = [];
    const ids: number[] = [];
    let prioZero = 0;
    for (const d of packets) {
      assert.equal(d[9], IPPROTO_AH, 'every advert is AH, none is bare protocol 112');
      assert.equal(d[1], 0xc0, 'TOS network control');
      assert.equal(d[8], 255, 'TTL 255');
      const r = openAhDatagram(d, 'Ah-pass1', false);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(d.readUInt32BE(24), d.readUInt32BE(12), 'SPI = source address');
      const a = decodeAdvert(r.vrrp, 4);
      assert.ok(a.ok && a.advert.authType === 2 && a.advert.vrid === id);
      if (a.advert.priority === 0) prioZero++;
      seqs.push(r.seq);
      ids.push(d.readUInt16BE(4));
      assert.ok(!openAhDatagram(d, 'Ah-pass2', false).ok, 'another password does not verify');
    }
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'sequence numbers 1, 2, 3, ... as keepalived',
    );
    assert.deepEqual(ids, seqs, 'IP ids 1, 2, 3, ... as keepalived');
    assert.equal(prioZero, 1, 'one priority-0 advert on stop');
  } finally {
    t.proc.kill('SIGTERM');
    k?.proc.kill('SIGTERM');
    await Promise.all([t.exited, k?.exited, cap.stop().catch(() => [])]);
  }
});

test('AH: keepalived MASTER, tskeepalived stays BACKUP; SIGSTOP keepalived -> tskeepalived takes over (sequence goes on); SIGCONT -> keepalived resyncs and wins back', {
  skip,
  timeout: 60_000,
}, async () => {
  const id = 81;
  const addr = '10.64.0.81';
  const kconf = lan.writeText('a2-ka.conf', keepalivedConf(config({ instances: [ahInstance(id, 200, 'secret-8', addr)] })));
  const tconf = lan.writeText('a2-ts.conf', keepalivedConf(config({ instances: [ahInstance(id, 100, 'secret-8', addr)] })));
  const k = startKeepalived(lan, 1, kconf, 'a2');
  let t: ReturnType<typeof startTsDaemon> | undefined;
  let stopped: number | undefined;
  try {
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 8000);
    t = startTsDaemon(lan, 0, tconf, 'a2-ts');
    await waitFor('tskeepalived BACKUP', () => t!.has(/Entering BACKUP STATE/), 3000);
    await sleep(4500); // > Master_Down_Interval (3.6 s)
    assert.ok(!t.has(/Entering MASTER STATE/), `tskeepalived accepts keepalived's AH adverts\n${t.lines.join('\n')}`);
    assert.ok(!t.has(/advertisement rejected/), t.lines.join('\n'));
    assert.ok(!lan.hasAddress(0, addr));
    const vpid = k.vrrpPid();
    assert.ok(vpid, 'keepalived VRRP child pid');
    const mdi = 3000 + ((256 - 100) * 1000) / 256;
    const cap = capture(2, `src ${lan.addr4(0)} and ip proto 51`, 'a2');
    await sleep(200);
    const t0 = Date.now();
    process.kill(vpid!, 'SIGSTOP');
    stopped = vpid;
    await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), mdi + 1500, 5);
    const took = Date.now() - t0;
    assert.ok(took <= mdi + 150 && took >= mdi - 1000 - 50, `took over ${took} ms after SIGSTOP (MDI ${mdi})`);
    await sleep(1500);
    // keepalived resumes: it hears our lower-priority adverts (a higher sequence number), syncs its
    // counter past ours ("IPSEC-AH : Syncing seq_num") and its next adverts are accepted again
    process.kill(vpid!, 'SIGCONT');
    stopped = undefined;
    await waitFor('tskeepalived back to BACKUP', () => !lan.hasAddress(0, addr) && t!.lines.filter((l) => /Entering BACKUP STATE/.test(l)).length >= 2, 8000);
    assert.ok(lan.hasAddress(1, addr), 'keepalived holds the VIP again');
    const ours = (await cap.stop()).map((d) => openAhDatagram(d, 'secret-8', false)).filter((r) => r.ok);
    assert.ok(ours.length >= 2, 'we sent AH adverts as MASTER');
    const seqs = ours.map((r) => (r.ok ? r.seq : 0));
    assert.ok(seqs[0] > 4, `our first sequence number ${seqs[0]} follows the last one heard from keepalived`);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1);
  } finally {
    if (stopped) process.kill(stopped, 'SIGCONT');
    t?.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t?.exited, k.exited]);
  }
});

test('AH with a different auth_pass: each side rejects the other (ICV), the failures are counted, both become MASTER as keepalived does', {
  skip,
  timeout: 40_000,
}, async () => {
  const id = 82;
  const addr = '10.64.0.82';
  const kconf = lan.writeText('a3-ka.conf', keepalivedConf(config({ instances: [ahInstance(id, 150, 'right', addr)] })));
  const tconf = lan.writeText('a3-ts.conf', keepalivedConf(config({ instances: [ahInstance(id, 100, 'wrong', addr)] })));
  const k = startKeepalived(lan, 1, kconf, 'a3');
  let t: ReturnType<typeof startTsDaemon> | undefined;
  try {
    await waitFor('keepalived MASTER', () => lan.hasAddress(1, addr), 8000);
    t = startTsDaemon(lan, 0, tconf, 'a3-ts', { TMPDIR: lan.dir });
    await waitFor('tskeepalived BACKUP', () => t!.has(/Entering BACKUP STATE/), 3000);
    const statsFile = join(lan.dir, 'keepalived.stats');
    const atStart = await dumpedFailures(t.pid, statsFile);
    // keepalived's adverts (priority 150) fail our ICV, so the master-down timer runs out
    await waitFor('tskeepalived MASTER despite the adverts', () => lan.hasAddress(0, addr), 6000);
    await waitFor('rejection logged', () => t!.has(/advertisement rejected: auth-failure \(IPSEC-AH: invalid IPSEC HMAC-MD5/), 2000);
    assert.equal(t.lines.filter((l) => /advertisement rejected: auth-failure/.test(l)).length, 1, 'logged once (rate limited)');
    const asMaster = await dumpedFailures(t.pid, statsFile);
    assert.ok(asMaster >= atStart + 2 && asMaster >= 3, `auth failures counted while BACKUP: ${atStart} -> ${asMaster}`);
    // keepalived rejects ours and stays MASTER: both hold the VIP. (keepalived 2.2.7 restarts its advert
    // timer on every packet of its VRID, even a rejected one, so while we advertise it sends rarely:
    // its log, not our counter, shows the rejections go on.)
    const bad = () => k.lines.filter((l) => /IPSEC-AH : invalid IPSEC HMAC-MD5 value/.test(l)).length;
    await waitFor('keepalived logs the bad ICV of our adverts', () => bad() >= 1, 3000);
    const before = bad();
    await waitFor('keepalived goes on rejecting', () => bad() >= before + 2, 4000);
    assert.ok(lan.hasAddress(1, addr) && lan.hasAddress(0, addr), 'both MASTER');
    assert.equal(k.lines.filter((l) => /Entering BACKUP STATE/.test(l)).length, 1, 'keepalived left BACKUP (init) once and never went back');
    assert.match(readFileSync(statsFile, 'utf8'), /Received: 0/, 'no advert accepted');
  } finally {
    t?.proc.kill('SIGTERM');
    k.proc.kill('SIGTERM');
    await Promise.all([t?.exited, k.exited]);
  }
});

test('AH over unicast peers (TTL outside the ICV): tskeepalived MASTER, keepalived BACKUP stays BACKUP; SIGTERM -> keepalived takes over', {
  skip,
  timeout: 30_000,
}, async () => {
  const id = 83;
  const addr = '10.64.0.83';
  const loc = { file: 'test.conf', line: 1 };
  const inst = (me: number, peer: number, prio: number) =>
    instance('VI_1', {
      virtualRouterId: id,
      priority: prio,
      state: 'BACKUP',
      auth: { type: 'AH', pass: 'uni-ah' },
      unicastSrcIp: lan.addr4(me),
      unicastPeers: [{ address: lan.addr4(peer), loc }],
      virtualIpaddress: [vip(addr)],
    });
  const t = startTsDaemon(lan, 0, lan.writeText('a4-ts.conf', keepalivedConf(config({ instances: [inst(0, 1, 150)] }))), 'a4-ts');
  let k: ReturnType<typeof startKeepalived> | undefined;
  try {
    await waitFor('tskeepalived MASTER', () => lan.hasAddress(0, addr), 6000);
    k = startKeepalived(lan, 1, lan.writeText('a4-ka.conf', keepalivedConf(config({ instances: [inst(1, 0, 100)] }))), 'a4');
    await waitFor('keepalived BACKUP', () => k!.has(/Entering BACKUP STATE/), 4000);
    await sleep(4500);
    assert.ok(!k.has(/Entering MASTER STATE/), `keepalived accepts our unicast AH adverts\n${k.lines.join('\n')}`);
    assert.ok(!k.has(/IPSEC-AH/), k.lines.join('\n'));
    assert.ok(!lan.hasAddress(1, addr));
    const t0 = Date.now();
    t.proc.kill('SIGTERM');
    assert.equal(await t.exited, 0);
    await waitFor('keepalived takes over on our unicast priority 0', () => lan.hasAddress(1, addr), 2500, 5);
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  } finally {
    t.proc.kill('SIGTERM');
    k?.proc.kill('SIGTERM');
    await Promise.all([t.exited, k?.exited]);
  }
});
