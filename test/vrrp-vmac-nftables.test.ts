// keepalived's nftables rules for VMACs (use_vmac): keepalived 2.2.7 and tskeepalived run the same
// keepalived.conf in turn in namespace a (BACKUP under a keepalived peer of higher priority in b,
// then MASTER when the peer stops, then SIGTERM). `nft -j list ruleset` (handles dropped, counters
// zeroed) must read the same in each phase, and the rules must do the same to real traffic: IGMP and
// MLD reports the kernel sends from a VMAC reach the LAN with the base interface's MAC (duplicated
// by `vmac_map`, the original dropped), never with the virtual MAC; the no-accept VIP is dropped.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type FilterTable, vipFilterScript } from '../src/net/vip-filter.js';
import { Lan, startKeepalived, startTsDaemon, waitFor, sleep, isRoot, sh, nftRuleset, tcpdumpText, type Node } from './vrrp-helpers.js';
import { hasCommand } from './net-lab.js';

const canRun = isRoot() && existsSync('/usr/sbin/keepalived') && hasCommand('nft') && hasCommand('tcpdump');
const skip = canRun ? false : 'needs root, keepalived, nft and tcpdump';
let lan: Lan;

before(() => {
  if (canRun) lan = new Lan(`tkvn-${process.pid}`, 2, '10.65.0', 'fd65');
});
after(() => lan?.cleanup());

const instances = (priority: number, extra: string) => `
vrrp_instance VM4 {
  state ${priority > 150 ? 'MASTER' : 'BACKUP'}
  interface eth0
${extra}  virtual_router_id 41
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    10.65.0.101/24
  }
  virtual_ipaddress_excluded {
    fd65::111/64
  }
}
vrrp_instance VM6 {
  state ${priority > 150 ? 'MASTER' : 'BACKUP'}
  interface eth0
${extra}  virtual_router_id 42
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    fd65::101/64
  }
}
`;

// the node under test: VMACs, no accept (vrrp_strict), the chains' priority and counters set
const CONF = `global_defs {
  router_id under_test
  vrrp_strict
  nftables
  nftables_priority -3
  nftables_counters
}
${instances(100, '  use_vmac\n')}`;

const PEER = `global_defs {
  router_id peer
}
${instances(200, '')}`;

const ns = (i: number) => lan.namespaces[i]!;

/** nft -j list ruleset of namespace a, normalised */
const ruleset = (): unknown[] => nftRuleset(ns(0));

const entered = (n: Node, inst: string, state: string) =>
  n.lines.some((l) => l.includes(`(${inst}) Entering ${state} STATE`) || (l.includes(`"instance":"${inst}"`) && l.includes(`Entering ${state} STATE`)));
const linkExists = (name: string) => sh('ip', ['-n', ns(0), 'link', 'show', name]).code === 0;
const macOf = (name: string) => /link\/ether ([0-9a-f:]{17})/.exec(sh('ip', ['-n', ns(0), 'link', 'show', name]).out)?.[1];
const reaches = (addr: string) => sh('ip', ['netns', 'exec', ns(1), 'ping', '-c', '1', '-W', '1', addr]).code === 0;

/** tcpdump -e -v on b: IGMP and ICMPv6 frames (MLD behind a hop-by-hop header too), one string each (-v continues a frame on indented lines), source MAC second. */
function capture(): { lines: () => string[]; stop: () => Promise<void> } {
  const cap = tcpdumpText(lan, 1, ['-e', '-v'], 'igmp or icmp6 or (ip6 and ip6[6] == 0)');
  return { lines: () => cap.text().replace(/\n\s+/g, ' ').split('\n').filter(Boolean), stop: cap.stop };
}

async function stop(n: Node | undefined): Promise<void> {
  if (!n || n.proc.exitCode !== null || n.proc.signalCode !== null) return;
  n.proc.kill('SIGTERM');
  await Promise.race([n.exited, sleep(6000)]);
  n.proc.kill('SIGKILL');
}

interface Run {
  backup: unknown[];
  master: unknown[];
  stopped: unknown[];
  /** source MACs of the IGMP / MLDv2 reports b saw while a's VMACs joined groups */
  igmpFrom: string[];
  mldFrom: string[];
  vmacGone: boolean;
  vipReachable: boolean;
  ownReachable: boolean;
}

async function runOnce(start: () => Node): Promise<Run> {
  const peer = startKeepalived(lan, 1, lan.writeText('peer.conf', PEER), `peer-${Date.now()}`);
  let n: Node | undefined;
  try {
    await waitFor('the peer MASTER', () => entered(peer, 'VM4', 'MASTER') && entered(peer, 'VM6', 'MASTER'), 10_000, 50);
    n = start();
    const node = n;
    await waitFor(
      'a BACKUP with its VMACs',
      () => entered(node, 'VM4', 'BACKUP') && entered(node, 'VM6', 'BACKUP') && linkExists('vrrp.41') && linkExists('vrrp.42'),
      10_000,
      50,
    );
    await waitFor('the VMAC rules', () => JSON.stringify(ruleset()).includes('vmac_set'), 3000, 50);
    await sleep(300);
    const backup = ruleset();

    // the kernel reports group joins on the VMACs: IGMP for 239.1.2.3, MLDv2 for a new address's solicited-node group
    const cap = capture();
    await sleep(500);
    sh('ip', ['-n', ns(0), 'addr', 'add', '239.1.2.3/32', 'dev', 'vrrp.41', 'autojoin']);
    sh('ip', ['-n', ns(0), 'addr', 'add', 'fd65::155/64', 'dev', 'vrrp.42', 'nodad']);
    await sleep(2500);
    await cap.stop();
    sh('ip', ['-n', ns(0), 'addr', 'del', '239.1.2.3/32', 'dev', 'vrrp.41']);
    sh('ip', ['-n', ns(0), 'addr', 'del', 'fd65::155/64', 'dev', 'vrrp.42']);
    const src = (re: RegExp) =>
      cap
        .lines()
        .filter((l) => re.test(l))
        .map((l) => l.split(' ')[1]!);
    const igmpFrom = src(/igmp v3 report/);
    const mldFrom = src(/multicast listener report v2.*ff02::1:ff00:155/);

    await stop(peer);
    await waitFor('a MASTER', () => entered(node, 'VM4', 'MASTER') && entered(node, 'VM6', 'MASTER'), 10_000, 50);
    await waitFor('the VIPs', () => /10\.65\.0\.101\//.test(sh('ip', ['-n', ns(0), 'addr', 'show', 'dev', 'vrrp.41']).out), 3000, 50);
    await sleep(500);
    const master = ruleset();
    const vipReachable = reaches('10.65.0.101');
    const ownReachable = reaches(lan.addr4(0));

    await stop(node);
    const stopped = ruleset();
    return { backup, master, stopped, igmpFrom, mldFrom, vmacGone: !linkExists('vrrp.41') && !linkExists('vrrp.42'), vipReachable, ownReachable };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${n?.lines.slice(-40).join('\n')}`);
  } finally {
    await stop(n);
    await stop(peer);
  }
}

test('use_vmac: the same nftables VMAC rules as keepalived in BACKUP, MASTER and after SIGTERM, with the same effect on IGMP/MLD reports', {
  skip,
  timeout: 90_000,
}, async (t) => {
  const conf = lan.writeText('under-test.conf', CONF);
  const eth0 = macOf('eth0')!;
  const ka = await runOnce(() => startKeepalived(lan, 0, conf, `ka-${Date.now()}`));
  const ts = await runOnce(() => startTsDaemon(lan, 0, conf, `ts-${Date.now()}`));
  t.diagnostic(
    `keepalived reports from ${JSON.stringify({ igmp: ka.igmpFrom, mld: ka.mldFrom })}, tskeepalived ${JSON.stringify({ igmp: ts.igmpFrom, mld: ts.mldFrom })}`,
  );

  // keepalived's behaviour, as observed: reports leave with eth0's MAC only, the VIP is dropped
  for (const [who, r] of [
    ['keepalived', ka],
    ['tskeepalived', ts],
  ] as const) {
    assert.ok(r.igmpFrom.length > 0 && r.igmpFrom.every((m) => m === eth0), `${who}: IGMP reports from eth0 (${eth0}) only: ${r.igmpFrom}`);
    assert.ok(r.mldFrom.length > 0 && r.mldFrom.every((m) => m === eth0), `${who}: MLD reports from eth0 (${eth0}) only: ${r.mldFrom}`);
    assert.equal(r.vipReachable, false, `${who}: the no-accept VIP is dropped`);
    assert.equal(r.ownReachable, true, `${who}: a's own address answers`);
    assert.ok(r.vmacGone, `${who}: VMACs removed at stop`);
    assert.deepEqual(r.stopped, [], `${who}: tables removed at stop`);
  }
  assert.match(JSON.stringify(ka.backup), /"prio":-3/);
  assert.deepEqual(ts.backup, ka.backup, 'BACKUP: the same ruleset as keepalived');
  assert.deepEqual(ts.master, ka.master, 'MASTER: the same ruleset as keepalived');
});

// keepalived appends each structure's rules to the chains when it first needs it: VMACs made by a
// reload after the no-accept sets have their map and rules after them (BACKUP first, as above: before)
const historyInstance = (name: string, vrid: number, vip: string, vmac: boolean) => `vrrp_instance ${name} {
  state BACKUP
  interface eth0
${vmac ? '  use_vmac\n' : ''}  virtual_router_id ${vrid}
  priority 100
  advert_int 0.5
  virtual_ipaddress {
    ${vip}
  }
}
`;
const HISTORY_BEFORE = `global_defs {
  router_id history
  vrrp_version 3
  vrrp_strict
}
${historyInstance('FOUR', 43, '10.65.0.143/24', false)}${historyInstance('SIX', 44, 'fd65::144/64', false)}`;
const HISTORY_AFTER = `${HISTORY_BEFORE}${historyInstance('VM4', 45, '10.65.0.145/24', true)}${historyInstance('VM6', 46, 'fd65::146/64', true)}`;

async function historyRun(who: string, start: (conf: string, tag: string) => Node): Promise<{ before: unknown[]; after: unknown[]; stopped: unknown[] }> {
  const conf = lan.writeText(`history-${who}.conf`, HISTORY_BEFORE);
  const rules = () => JSON.stringify(ruleset());
  let n: Node | undefined;
  try {
    const node = (n = start(conf, `history-${who}-${Date.now()}`));
    await waitFor(`${who}: FOUR and SIX MASTER`, () => entered(node, 'FOUR', 'MASTER') && entered(node, 'SIX', 'MASTER'), 10_000, 50);
    await waitFor(`${who}: their VIPs dropped`, () => rules().includes('10.65.0.143') && rules().includes('fd65::144'), 3000, 50);
    const before = ruleset();
    lan.writeText(`history-${who}.conf`, HISTORY_AFTER);
    node.proc.kill('SIGHUP');
    await waitFor(`${who}: VM4 and VM6 MASTER`, () => entered(node, 'VM4', 'MASTER') && entered(node, 'VM6', 'MASTER'), 10_000, 50);
    await waitFor(`${who}: the VMAC VIPs dropped`, () => rules().includes('10.65.0.145') && rules().includes('fd65::146'), 3000, 50);
    await sleep(300);
    const after = ruleset();
    await stop(node);
    return { before, after, stopped: ruleset() };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${n?.lines.slice(-40).join('\n')}`);
  } finally {
    await stop(n);
  }
}

test('use_vmac added by a reload to a no-accept MASTER: the VMAC map and rules after the vips ones, as keepalived', { skip, timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const ka = await historyRun('ka', (conf, tag) => startKeepalived(lan, 0, conf, tag));
  const ts = await historyRun('ts', (conf, tag) => startTsDaemon(lan, 0, conf, tag));
  t.diagnostic(`both runs in ${Date.now() - started} ms`);
  // keepalived, as observed: the igmp rule after `ip saddr @vips drop`
  const out4 = JSON.stringify(ka.after.filter((o) => JSON.stringify(o).includes('"family":"ip","table":"keepalived","chain":"out"')));
  assert.ok(out4.indexOf('"saddr"') >= 0 && out4.indexOf('"saddr"') < out4.indexOf('"dup"'), `keepalived's ip out chain: ${out4}`);
  assert.deepEqual(ts.before, ka.before, 'no-accept MASTER: the same ruleset as keepalived');
  assert.deepEqual(ts.after, ka.after, 'after the reload adding VMACs: the same ruleset (order included) as keepalived');
  assert.deepEqual(ka.stopped, []);
  assert.deepEqual(ts.stopped, []);
});

test('the VMAC reports really leave with the virtual MAC without the rules (the control of the test above)', { skip, timeout: 30_000 }, async () => {
  sh('ip', ['-n', ns(0), 'link', 'add', 'link', 'eth0', 'name', 'vrrp.41', 'address', '00:00:5e:00:01:29', 'type', 'macvlan', 'mode', 'private']);
  try {
    sh('ip', ['-n', ns(0), 'link', 'set', 'vrrp.41', 'up']);
    const cap = capture();
    await sleep(500);
    sh('ip', ['-n', ns(0), 'addr', 'add', '239.1.2.3/32', 'dev', 'vrrp.41', 'autojoin']);
    // another report (from eth0) may come first: wait for the VMAC's own
    const fromVmac = () => cap.lines().some((l) => l.includes('igmp v3 report') && l.split(' ')[1] === '00:00:5e:00:01:29');
    await waitFor('an IGMP report from the virtual MAC', fromVmac, 5000, 50).catch(() => undefined);
    await cap.stop();
    assert.ok(fromVmac(), `an IGMP report from the virtual MAC among: ${cap.lines().join(' | ')}`);
  } finally {
    sh('ip', ['-n', ns(0), 'link', 'del', 'vrrp.41']);
  }
});

test('vipFilterScript: VMAC maps per family, vmac_set in ip6 only, priority and counters, structures kept', () => {
  const table: FilterTable = { name: 'kt', priority: -3, counters: true };
  const s = vipFilterScript(table, [], [{ vmac: 7, base: 2, families: [4] }]);
  assert.match(s, /table ip kt \{\n {2}map vmac_map \{\n {4}type iface_index : iface_index\n {4}elements = \{ 7 : 2 \}/);
  assert.match(s, /priority -3; policy accept;\n {4}ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map counter drop/);
  assert.doesNotMatch(s, /table ip6 kt \{/);
  assert.doesNotMatch(s, /chain in/);
  const six = vipFilterScript('kt', [{ address: 'fd00::1', family: 6, dev: 'eth0' }], [{ vmac: 8, base: 2, families: [6, 4] }]);
  assert.match(six, /set vmac_set \{\n {4}type iface_index\n {4}elements = \{ 8 \}/);
  assert.match(six, /icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop\n {4}icmpv6 type @neighbor-discovery accept/);
  assert.match(six, /table ip kt \{\n {2}map vmac_map/);
  // a VMAC-holding BACKUP that was MASTER keeps the empty vips set, as keepalived
  const kept = vipFilterScript('kt', [], [{ vmac: 7, base: 2, families: [4] }], ['vmac4', 'vips4']);
  assert.match(kept, /set vips \{\n {4}type ipv4_addr\n {2}\}/);
  assert.match(kept, /chain in \{/);
  assert.match(
    kept,
    /map vmac_map \{[\s\S]*set vips \{[\s\S]*dup to ip daddr device oif map @vmac_map drop\n {4}ip saddr @vips drop/,
    'VMAC first: its map and rule first',
  );
  // a VMAC made after the vips set (a reload adding use_vmac to a no-accept MASTER): its map and rules come after, as keepalived's
  const later = vipFilterScript('kt', [{ address: 'fd00::1', family: 6, dev: 'eth0' }], [{ vmac: 8, base: 2, families: [6] }], ['vips6']);
  assert.match(later, /set neighbor-discovery \{[\s\S]*\}\n {2}map vmac_map \{/);
  assert.match(later, /ip6 saddr @vips drop\n {4}icmpv6 type mld2-listener-report [^\n]*\n {4}icmpv6 type nd-router-solicit [^\n]*\n {2}\}/);
});
