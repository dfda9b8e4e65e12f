// garp_master_refresh on the wire: a MASTER repeats gratuitous ARP every refresh interval
// (garp_master_refresh_repeat at a time). keepalived 2.2.7 and tskeepalived run the same config in
// turn while tcpdump in an observer namespace counts the gratuitous ARPs for the VIP.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Lan, startKeepalived, startTsDaemon, waitFor, sleep, isRoot, sh, type Node } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived') && sh('tcpdump', ['--version']).code === 0;
const skip = canRun ? false : 'needs root, keepalived and tcpdump';
let lan: Lan;

before(() => {
  if (canRun) lan = new Lan(`tkgr-${process.pid}`, 2, '10.64.0', 'fd64');
});
after(() => lan?.cleanup());

const VIP = '10.64.0.100';
const CONF = `global_defs {
  router_id garp
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 41
  priority 255
  advert_int 1
  garp_master_delay 0
  garp_master_repeat 1
  garp_master_refresh 1
  garp_master_refresh_repeat 2
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;

/** Seconds (relative to the first) of each gratuitous ARP for the VIP seen by namespace 1 during `ms`. */
function capture(ms: number): Promise<number[]> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', lan.namespaces[1], 'tcpdump', '-l', '-n', '-tt', '-i', 'eth0', 'arp'], { stdio: ['ignore', 'pipe', 'ignore'] });
    lan.procs.push(p);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    setTimeout(() => p.kill('SIGTERM'), ms);
    p.on('exit', () => {
      // "1795312501.007242 ARP, Request who-has 10.64.0.100 (ff:ff:ff:ff:ff:ff) tell 10.64.0.100, length 28"
      const garp = new RegExp(`who-has ${VIP.replace(/\./g, '\\.')} .*tell ${VIP.replace(/\./g, '\\.')},`);
      const times = out
        .split('\n')
        .filter((l) => garp.test(l))
        .map((l) => Number(l.split(' ')[0]));
      resolve(times.map((t) => t - (times[0] ?? 0)));
    });
  });
}

async function garpsOf(start: () => Node): Promise<number[]> {
  const n = start();
  try {
    await waitFor('the VIP on the MASTER', () => lan.hasAddress(0, VIP), 5000);
    // the initial burst is over; watch the refreshes
    await sleep(300);
    return await capture(4300);
  } finally {
    n.proc.kill('SIGTERM');
    await Promise.race([n.exited, sleep(5000)]);
    n.proc.kill('SIGKILL');
  }
}

test('garp_master_refresh 1 / repeat 2: a burst of 2 gratuitous ARPs every second, as keepalived', { skip, timeout: 40_000 }, async () => {
  const conf = lan.writeText('garp.conf', CONF);
  const ka = await garpsOf(() => startKeepalived(lan, 0, conf, 'ka'));
  await waitFor('keepalived released the VIP', () => !lan.hasAddress(0, VIP), 3000);
  const ts = await garpsOf(() => startTsDaemon(lan, 0, conf, 'ts'));
  const bursts = (t: number[]) => new Set(t.map((x) => Math.round(x))).size;
  // 4.3 s of watching: 4 (or 5) refresh rounds of 2
  assert.ok(ka.length >= 8 && ka.length <= 10, `keepalived sent ${ka.length}: ${ka.join(' ')}`);
  assert.ok(ts.length >= 8 && ts.length <= 10, `tskeepalived sent ${ts.length}: ${ts.join(' ')}`);
  assert.ok(Math.abs(ts.length - ka.length) <= 2, `tskeepalived ${ts.length} vs keepalived ${ka.length}`);
  assert.equal(bursts(ts), bursts(ka), `rounds: ${ts.join(' ')} vs ${ka.join(' ')}`);
  // the rounds are a refresh interval apart
  const firstOfRound = ts.filter((t, i) => i === 0 || t - ts[i - 1] > 0.5);
  for (let i = 1; i < firstOfRound.length; i++) {
    const gap = firstOfRound[i] - firstOfRound[i - 1];
    assert.ok(gap > 0.9 && gap < 1.15, `gap ${gap.toFixed(3)} s between refresh rounds`);
  }
});
