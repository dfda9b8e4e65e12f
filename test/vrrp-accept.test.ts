// No-accept mode (vrrp_strict): a MASTER that is not the address owner drops traffic to its VIPs
// through keepalived's nftables table. keepalived 2.2.7 and tskeepalived run the same config in
// the same namespace in turn: the tables must read the same, and a client sees the same drops.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { VipFilter, vipFilterScript } from '../src/net/vip-filter.js';
import { Lan, startKeepalived, startTsDaemon, waitFor, sleep, isRoot, sh, nftRuleset, type Node } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived') && sh('nft', ['--version']).code === 0;
const skip = canRun ? false : 'needs root, keepalived and nft';
let lan: Lan;

before(() => {
  if (!canRun) return;
  lan = new Lan(`tkac-${process.pid}`, 2, '10.63.0', 'fd63');
  // a second interface in each namespace (a veth pair x0/x1) for a link-local VIP with `dev x0`
  for (const ns of lan.namespaces) {
    sh('ip', ['-n', ns, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1']);
    sh('ip', ['-n', ns, 'link', 'set', 'x0', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'x1', 'up']);
  }
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

// ---- link-local VIPs (dont_track_primary, nftables_ifindex) and the tables' life until stop
//
// keepalived 2.2.7, measured: an instance with dont_track_primary matches a link-local VIP on its
// own interface, or one with no_track, by interface name (set vips_link_local_name, iifname /
// oifname) unless nftables_ifindex is set; one on another interface (dev x0) stays matched by index. Leaving MASTER,
// and a reload that removes every no-accept instance, leave the tables in place with empty sets; they
// go at SIGTERM.

// VRRPv3 with 0.5 s adverts: the master-down waits stay short
const llConf = (opts: { ifindex: boolean; priority: number; strict: boolean; master?: boolean }) => `global_defs {
  router_id ll${opts.priority}
  vrrp_version 3
${opts.strict ? '  vrrp_strict\n' : ''}${opts.ifindex ? '  nftables_ifindex\n' : ''}}
vrrp_instance FOUR {
  state ${opts.master || opts.priority > 150 ? 'MASTER' : 'BACKUP'}
  interface eth0
  virtual_router_id 35
  priority ${opts.priority}
  advert_int 0.5
  virtual_ipaddress {
    10.63.0.105/24
  }
}
vrrp_instance LL {
  state ${opts.master || opts.priority > 150 ? 'MASTER' : 'BACKUP'}
  interface eth0
  dont_track_primary
  virtual_router_id 36
  priority ${opts.priority}
  advert_int 0.5
  virtual_ipaddress {
    fe80::63:200/64 dev x0
    fe80::63:201/64
    fe80::63:202/64 dev x0 no_track
    fd63::200/64
  }
}
`;

// the reload: the no-accept instances go, an accept one comes
const RELOADED = `global_defs {
  router_id ll100
  vrrp_strict
}
vrrp_instance KEPT {
  state BACKUP
  interface eth0
  virtual_router_id 37
  accept
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.63.0.107/24
  }
}
`;

const entries = (n: Node, inst: string, state: string): number =>
  n.lines.filter((l) => l.includes(`(${inst}) Entering ${state} STATE`) || (l.includes(`"instance":"${inst}"`) && l.includes(`Entering ${state} STATE`)))
    .length;
const ruleset = () => nftRuleset(lan.namespaces[0]!);
const rulesText = () => JSON.stringify(ruleset());
/** a ping from b to a's link-local VIP on the LAN, for at most 1 s */
const llReaches = () => sh('ip', ['netns', 'exec', lan.namespaces[1]!, 'ping', '-6', '-c', '1', '-W', '1', 'fe80::63:201%eth0']).code === 0;

interface LlRun {
  master: unknown[];
  llDropped: boolean;
  backup: unknown[];
  reloaded: unknown[];
  stopped: unknown[];
  ifindex: unknown[];
  /** after SIGTERM of the nftables_ifindex run, started with -V (VIPs left in place) */
  stoppedV: unknown[];
  vipsLeftV: boolean;
  /** ms since the start at each capture */
  phases: string;
}

async function llRun(who: string, start: (conf: string, tag: string, extra?: string[]) => Node): Promise<LlRun> {
  const conf = lan.writeText(`ll-${who}.conf`, llConf({ ifindex: false, priority: 100, strict: true }));
  const peerConf = lan.writeText('ll-peer.conf', llConf({ ifindex: false, priority: 200, strict: false }));
  const both = (n: Node, state: string, count: number) => entries(n, 'FOUR', state) >= count && entries(n, 'LL', state) >= count;
  let n: Node | undefined;
  let peer: Node | undefined;
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${Date.now() - t0}`);
  try {
    const node = (n = start(conf, `ll-${who}`));
    await waitFor(`${who} MASTER`, () => both(node, 'MASTER', 1), 10_000, 50);
    await waitFor(`${who}'s drop rules`, () => rulesText().includes('fe80::63:201') && rulesText().includes('10.63.0.105'), 3000, 50);
    const master = ruleset();
    phase('master');
    const llDropped = !llReaches();

    // a peer of higher priority: BACKUP, the VIPs leave the sets, the tables stay
    const p = (peer = startKeepalived(lan, 1, peerConf, `ll-peer-${who}`));
    await waitFor(`${who} BACKUP`, () => both(node, 'BACKUP', 1) && entries(p, 'LL', 'MASTER') > 0, 10_000, 50);
    await waitFor(`${who}'s sets emptied`, () => !rulesText().includes('10.63.0.105') && !rulesText().includes('fe80::63:201'), 3000, 50);
    await sleep(300);
    const backup = ruleset();
    phase('backup');

    // the peer goes: MASTER again; then a reload drops every no-accept instance
    await stop(p);
    await waitFor(`${who} MASTER again`, () => both(node, 'MASTER', 2), 10_000, 50);
    await waitFor(`${who}'s drop rules again`, () => rulesText().includes('fe80::63:201') && rulesText().includes('10.63.0.105'), 3000, 50);
    lan.writeText(`ll-${who}.conf`, RELOADED);
    node.proc.kill('SIGHUP');
    await waitFor(`${who} reloaded`, () => !rulesText().includes('10.63.0.105') && !rulesText().includes('fe80::63:201'), 5000, 50);
    await sleep(500);
    const reloaded = ruleset();
    phase('reloaded');

    await stop(node);
    const stopped = ruleset();
    phase('stopped');

    // nftables_ifindex: every link-local VIP by index; started with -V: the VIPs stay at stop, the tables go
    lan.writeText(`ll-${who}.conf`, llConf({ ifindex: true, priority: 100, strict: true, master: true }));
    const again = (n = start(conf, `ll-${who}-ifindex`, ['-V']));
    await waitFor(`${who} MASTER (nftables_ifindex)`, () => both(again, 'MASTER', 1), 10_000, 50);
    await waitFor(`${who}'s drop rules (nftables_ifindex)`, () => rulesText().includes('fe80::63:201') && rulesText().includes('10.63.0.105'), 3000, 50);
    const ifindex = ruleset();
    phase('ifindex');
    await stop(again);
    const stoppedV = ruleset();
    phase('stoppedV');
    const vipsLeftV = lan.hasAddress(0, '10.63.0.105') && lan.hasAddress(0, 'fe80::63:201');
    for (const [a, dev] of [
      ['10.63.0.105/24', 'eth0'],
      ['fe80::63:201/64', 'eth0'],
      ['fd63::200/64', 'eth0'],
      ['fe80::63:200/64', 'x0'],
      ['fe80::63:202/64', 'x0'],
    ])
      sh('ip', ['-n', lan.namespaces[0]!, 'addr', 'del', a!, 'dev', dev!]);
    return { master, llDropped, backup, reloaded, stopped, ifindex, stoppedV, vipsLeftV, phases: phases.join(', ') };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${n?.lines.slice(-30).join('\n')}`);
  } finally {
    if (peer) await stop(peer);
    if (n) await stop(n);
  }
}

test('link-local VIPs by interface name under dont_track_primary (by index with nftables_ifindex), tables kept empty after MASTER and a reload, removed at SIGTERM (-V too): as keepalived', {
  skip,
  timeout: 90_000,
}, async (t) => {
  const started = Date.now();
  const ka = await llRun('ka', (conf, tag, extra) => startKeepalived(lan, 0, conf, tag, {}, extra));
  const ts = await llRun('ts', (conf, tag, extra) => startTsDaemon(lan, 0, conf, tag, {}, extra));
  t.diagnostic(`both runs in ${Date.now() - started} ms; keepalived: ${ka.phases}; tskeepalived: ${ts.phases}`);

  // keepalived's behaviour, as observed
  const text = (r: unknown[]) => JSON.stringify(r);
  assert.match(text(ka.master), /"name":"vips_link_local_name".*"type":\["ipv6_addr","ifname"\]/);
  assert.match(text(ka.master), /"name":"vips_link_local","table":"keepalived".*"type":\["ipv6_addr","iface_index"\]/);
  const nameSet = JSON.stringify(ka.master.find((o) => JSON.stringify(o).includes('"name":"vips_link_local_name"')));
  assert.ok(nameSet.includes('["fe80::63:201","eth0"]') && nameSet.includes('["fe80::63:202","x0"]'), `by name: eth0's and the no_track one: ${nameSet}`);
  assert.doesNotMatch(text(ka.ifindex), /vips_link_local_name/);
  assert.equal(ka.llDropped, true, 'keepalived drops the link-local VIP');
  assert.doesNotMatch(text(ka.backup), /10\.63\.0\.105|fe80::63:20/);
  assert.match(text(ka.backup), /vips_link_local_name/, 'keepalived keeps the emptied sets');
  assert.deepEqual(ka.reloaded, ka.backup, 'keepalived keeps the empty tables across the reload');
  assert.deepEqual(ka.stopped, []);
  assert.ok(ka.vipsLeftV, 'keepalived -V leaves the VIPs');
  assert.deepEqual(ka.stoppedV, [], 'keepalived -V still deletes its tables at stop');

  assert.deepEqual(ts.master, ka.master, 'MASTER: the same ruleset as keepalived');
  assert.equal(ts.llDropped, ka.llDropped, 'the link-local VIP dropped as by keepalived');
  assert.deepEqual(ts.backup, ka.backup, 'BACKUP after MASTER: the same (empty) tables as keepalived');
  assert.deepEqual(ts.reloaded, ka.reloaded, 'after the reload without no-accept instances: the same tables as keepalived');
  assert.deepEqual(ts.stopped, [], 'tables removed at SIGTERM');
  assert.deepEqual(ts.ifindex, ka.ifindex, 'nftables_ifindex: the same ruleset as keepalived');
  assert.ok(ts.vipsLeftV, '-V leaves the VIPs');
  assert.deepEqual(ts.stoppedV, [], '-V: the tables deleted at stop all the same');
});

test('vipFilterScript: link-local sets by index and by name, in the order made, kept empty', () => {
  const ll = (address: string, dev: string, byName?: boolean) => ({ address, family: 6 as const, dev, ...(byName ? { byName } : {}) });
  const s = vipFilterScript('kt', [ll('fe80::1', 'eth0', true), ll('fe80::2', 'x0')]);
  assert.match(s, /set vips_link_local_name \{\n {4}type ipv6_addr \. ifname\n {4}elements = \{ fe80::1 \. "eth0" \}\n {2}\}\n {2}set vips_link_local \{/);
  assert.match(s, /chain in_link_local \{\n {4}ip6 daddr \. iifname @vips_link_local_name drop\n {4}ip6 daddr \. iif @vips_link_local drop\n {2}\}/);
  assert.match(s, /chain out_link_local \{\n {4}ip6 saddr \. oifname @vips_link_local_name drop\n {4}ip6 saddr \. oif @vips_link_local drop\n {2}\}/);
  const kept = vipFilterScript('kt', [], [], ['vips6', 'll-index']);
  assert.match(kept, /set vips_link_local \{\n {4}type ipv6_addr \. iface_index\n {2}\}/);
  assert.match(kept, /ip6 daddr \. iif @vips_link_local drop/);
  assert.doesNotMatch(kept, /vips_link_local_name/);
});

test('VipFilter: the tables stay, empty, when the last entry goes; clear() deletes them', async () => {
  const log = lan?.dir ? `${lan.dir}/nft-scripts.log` : `/tmp/tkac-nft-${process.pid}.log`;
  const f = new VipFilter('kt', ['sh', '-c', `cat >> ${log}; echo ---- >> ${log}`]);
  try {
    await f.set('A', [
      { address: '192.0.2.1', family: 4, dev: 'eth0' },
      { address: 'fe80::1', family: 6, dev: 'eth0', byName: true },
    ]);
    f.configure({ name: 'kt', priority: -5, counters: true }); // a reload: the tables keep their chains as made
    await f.set('A', []);
    await f.clear();
    const scripts = sh('cat', [log]).out.split('----\n').filter(Boolean);
    assert.equal(scripts.length, 3);
    assert.match(scripts[0]!, /elements = \{ 192\.0\.2\.1 \}/);
    assert.match(scripts[1]!, /table ip kt \{\n {2}set vips \{\n {4}type ipv4_addr\n {2}\}/, 'the emptied set stays');
    assert.match(scripts[1]!, /set vips_link_local_name \{\n {4}type ipv6_addr \. ifname\n {2}\}/);
    assert.match(scripts[1]!, /priority -1; policy accept;\n {4}ip saddr @vips drop/, 'priority and counters as made');
    assert.equal(scripts[2], vipFilterScript('kt', []), 'clear: both tables deleted');
  } finally {
    sh('rm', ['-f', log]);
  }
});
