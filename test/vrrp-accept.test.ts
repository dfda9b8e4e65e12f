// No-accept mode (vrrp_strict): a MASTER that is not the address owner drops traffic to its VIPs
// through keepalived's nftables table. keepalived 2.2.7 and tskeepalived run the same config in
// the same namespace in turn: the tables must read the same, and a client sees the same drops.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { vipFilterScript } from '../src/net/vip-filter.js';
import { Lan, startKeepalived, startTsDaemon, waitFor, sleep, isRoot, sh, type Node } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived') && sh('nft', ['--version']).code === 0;
const skip = canRun ? false : 'needs root, keepalived and nft';
let lan: Lan;

before(() => {
  if (canRun) lan = new Lan(`tkac-${process.pid}`, 2, '10.63.0', 'fd63');
});
after(() => lan?.cleanup());

const CONF = `global_defs {
  router_id acc
  vrrp_strict
}
vrrp_instance NONOWNER {
  state BACKUP
  interface eth0
  virtual_router_id 31
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.63.0.101/24
  }
  virtual_ipaddress_excluded {
    10.63.0.111/24
  }
}
vrrp_instance OWNER {
  state MASTER
  interface eth0
  virtual_router_id 32
  priority 255
  advert_int 1
  virtual_ipaddress {
    10.63.0.102/24
  }
}
vrrp_instance ACCEPT3 {
  state BACKUP
  interface eth0
  virtual_router_id 33
  version 3
  accept
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.63.0.103/24
  }
}
vrrp_instance SIX {
  state BACKUP
  interface eth0
  virtual_router_id 34
  priority 100
  advert_int 1
  virtual_ipaddress {
    fe80::63:100/64
    fd63::100/64
  }
}
`;

const listTable = (family: 'ip' | 'ip6'): string => sh('ip', ['netns', 'exec', lan.namespaces[0], 'nft', 'list', 'table', family, 'keepalived']).out;
const noTables = (): boolean => sh('ip', ['netns', 'exec', lan.namespaces[0], 'nft', 'list', 'tables']).out.trim() === '';
// an echo request every 0.2 s until one is answered, for at most 2 s: a single one can be lost on a busy machine
const reaches = (addr: string): boolean =>
  sh('ip', ['netns', 'exec', lan.namespaces[1], 'ping', addr.includes(':') ? '-6' : '-4', '-c', '1', '-i', '0.2', '-w', '2', addr]).code === 0;
const allMaster = (n: Node): boolean =>
  ['NONOWNER', 'OWNER', 'ACCEPT3', 'SIX'].every((i) =>
    n.lines.some((l) => l.includes(`(${i}) Entering MASTER STATE`) || (l.includes(`"instance":"${i}"`) && l.includes('Entering MASTER STATE'))),
  );

async function observe(n: Node): Promise<{ ip: string; ip6: string; reach: Record<string, boolean> }> {
  await waitFor('every instance MASTER', () => allMaster(n), 10_000, 50);
  await waitFor('VIPs on eth0', () => lan.hasAddress(0, '10.63.0.101') && lan.hasAddress(0, 'fd63::100'), 3000);
  await sleep(300);
  const reach: Record<string, boolean> = {};
  for (const a of ['10.63.0.1', '10.63.0.101', '10.63.0.111', '10.63.0.102', '10.63.0.103', 'fd63::1', 'fd63::100']) reach[a] = reaches(a);
  return { ip: listTable('ip'), ip6: listTable('ip6'), reach };
}

async function stop(n: Node): Promise<void> {
  n.proc.kill('SIGTERM');
  await Promise.race([n.exited, sleep(5000)]);
  n.proc.kill('SIGKILL');
}

test('vrrp_strict non-owner MASTER: the same nftables drop table as keepalived, the same reachability, removed at stop', {
  skip,
  timeout: 60_000,
}, async () => {
  const conf = lan.writeText('strict.conf', CONF);

  const k = startKeepalived(lan, 0, conf, 'ka');
  let ka: Awaited<ReturnType<typeof observe>>;
  try {
    ka = await observe(k);
  } finally {
    await stop(k);
  }
  await waitFor('keepalived removed its table', noTables, 3000);

  const t = startTsDaemon(lan, 0, conf, 'ts');
  let ts: Awaited<ReturnType<typeof observe>>;
  try {
    ts = await observe(t);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${t.lines.join('\n')}`);
  } finally {
    await stop(t);
  }

  // keepalived's behaviour, as observed: the non-owner's VIPs (and excluded VIPs) dropped,
  // the owner's and the accept instance's reachable, the primary addresses untouched
  assert.deepEqual(ka.reach, {
    '10.63.0.1': true,
    '10.63.0.101': false,
    '10.63.0.111': false,
    '10.63.0.102': true,
    '10.63.0.103': true,
    'fd63::1': true,
    'fd63::100': false,
  });
  assert.deepEqual(ts.reach, ka.reach);
  assert.match(ka.ip, /10\.63\.0\.101, 10\.63\.0\.111/);
  assert.equal(ts.ip, ka.ip, 'IPv4 table as keepalived');
  assert.equal(ts.ip6, ka.ip6, 'IPv6 table as keepalived');
  assert.ok(noTables(), 'tables removed at stop');
});

test('vipFilterScript: no table for a family without entries; an empty list removes both tables', () => {
  const s = vipFilterScript('keepalived', [{ address: '192.0.2.1', family: 4, dev: 'eth0' }]);
  assert.match(s, /table ip keepalived \{/);
  assert.doesNotMatch(s, /table ip6 keepalived \{/);
  assert.match(s, /delete table ip6 keepalived/);
  assert.equal(vipFilterScript('kt', []), 'add table ip kt\ndelete table ip kt\nadd table ip6 kt\ndelete table ip6 kt\n');
});
