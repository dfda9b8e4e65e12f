// A master that was frozen (SIGSTOP) while its peer took over must win the VIP back on the
// wire too: when it hears the peer's lower-priority advert it sends gratuitous ARPs
// (keepalived's garp_lower_prio_repeat), or the neighbours keep the peer's MAC for the VIP and
// their traffic is lost until their ARP entries expire. Found by bench/soak/failover-storm.ts.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Lan, startTsDaemon, waitFor, sleep, isRoot, sh, type Node } from './vrrp-helpers.js';

const canRun = isRoot() && sh('tcpdump', ['--version']).code === 0 && existsSync('bin/tskeepalived');
const skip = canRun ? false : 'needs root and tcpdump';
let lan: Lan;

before(() => {
  if (canRun) lan = new Lan(`tkglp-${process.pid}`, 3, '10.66.0', 'fd66');
});
after(() => lan?.cleanup());

const VIP = '10.66.0.100';
const conf = (prio: number) => `global_defs {
  router_id glp
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 66
  version 3
  priority ${prio}
  advert_int 0.5
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;

test('a resumed master sends gratuitous ARPs when it hears the lower-priority peer that took over', { skip, timeout: 30_000 }, async () => {
  const macA = /([0-9a-f]{2}(:[0-9a-f]{2}){5})/.exec(sh('ip', ['-n', lan.namespaces[0], '-br', 'link', 'show', 'eth0']).out)![1];
  const a: Node = startTsDaemon(lan, 0, lan.writeText('a.conf', conf(150)), 'a');
  await waitFor('A holds the VIP', () => lan.hasAddress(0, VIP), 10_000);
  const b: Node = startTsDaemon(lan, 1, lan.writeText('b.conf', conf(100)), 'b');
  await sleep(1500);
  // A cannot send while frozen: every ARP from A's MAC after this point comes after it resumed
  const dump = spawn('ip', ['netns', 'exec', lan.namespaces[2], 'tcpdump', '-l', '-n', '-e', '-tt', '-i', 'eth0', 'arp'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  lan.procs.push(dump);
  let out = '';
  dump.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await sleep(500);
  process.kill(a.pid, 'SIGSTOP');
  try {
    await waitFor('B takes over from the frozen A', () => lan.hasAddress(1, VIP), 10_000);
    await sleep(300);
  } finally {
    process.kill(a.pid, 'SIGCONT');
  }
  const resumed = Date.now() / 1000;
  await waitFor('B gives the VIP back', () => !lan.hasAddress(1, VIP), 5000);
  await sleep(1500);
  dump.kill('SIGTERM');
  // "1795312501.007242 aa:bb:cc:dd:ee:ff > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.66.0.100 (ff:ff:ff:ff:ff:ff) tell 10.66.0.100, length 28"
  const v = VIP.replace(/\./g, '\\.');
  const fromA = out.split('\n').filter((l) => l.includes(`${macA} > `) && new RegExp(`who-has ${v} .*tell ${v},`).test(l));
  assert.ok(lan.hasAddress(0, VIP), 'A holds the VIP again');
  assert.ok(fromA.length >= 1, `A sent no gratuitous ARP after resuming (${resumed}); ARP seen:\n${out}`);
  a.proc.kill('SIGTERM');
  b.proc.kill('SIGTERM');
  await Promise.all([a.exited, b.exited]);
});
