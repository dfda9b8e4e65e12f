// SNMP as keepalived speaks it: keepalived 2.2.7 and tskeepalived run in turn with -x under Debian's
// snmpd (AgentX master in a namespace); snmpwalk -On of KEEPALIVED-MIB, VRRP-MIB and VRRPv3-MIB
// must give the same OIDs, types and values (TimeTicks and counters by type), and snmptrapd the
// same notifications. Then the fault cases: no master at start, snmpd restarted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEEPALIVED_MIB, SnmpLab, VRRP_MIB, VRRPV3_MIB, haveSnmpTools, ourTrap, type Trap, type WalkLine } from './snmp-lab.js';
import { waitUntil } from './daemon-netns.js';
import { Lan, isRoot, sleep, waitFor, type Node } from './vrrp-helpers.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveSnmpTools() ? 'needs snmpd, snmptrapd, snmp (snmpwalk) and keepalived' : false;

let lan: Lan;
let lab: SnmpLab;
const port = 20000 + (process.pid % 20000) * 2;

before(() => {
  if (skip) return;
  lan = new Lan(`sn${process.pid % 100000}`, 1, '10.79.0', 'fd79');
  lab = new SnmpLab(lan, 0, port);
});
after(() => lan?.cleanup());

function conf(): string {
  const script = join(lan.dir, 'ok.sh');
  writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const tf = join(lan.dir, 'tf.val');
  writeFileSync(tf, '0\n');
  const text = `global_defs {
  router_id snmplab
  enable_script_security
  script_user root
  enable_snmp_vrrp
  enable_snmp_rfcv2
  enable_snmp_rfcv3
  enable_traps
}
track_file tf1 {
  file "${tf}"
  weight 0
}
vrrp_script chk_ok {
  script "${script}"
  interval 1
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.79.0.100/24
    10.79.0.101/24
  }
  virtual_ipaddress_excluded {
    10.79.1.100/24
  }
  track_script {
    chk_ok
  }
  track_file {
    tf1
  }
  track_interface {
    eth0
    lo
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  version 3
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.79.0.200/24
  }
}
`;
  return lan.writeText('keepalived.conf', text);
}

const STATE = `${KEEPALIVED_MIB}.2.3.1.4`;
const bothMaster = async () => {
  const r = await lab.get([`${STATE}.1`, `${STATE}.2`]);
  return r.length === 2 && r.every((l) => l.value === '2');
};
const walkAll = async (): Promise<WalkLine[]> => {
  const out: WalkLine[] = [];
  for (const root of [KEEPALIVED_MIB, VRRP_MIB, VRRPV3_MIB]) out.push(...(await lab.walk(root)));
  return out;
};

async function stop(n: Node): Promise<number | null> {
  n.proc.kill('SIGTERM');
  const code = await Promise.race([n.exited, sleep(8000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    n.proc.kill('SIGKILL');
    throw new Error('the daemon did not stop within 8 s');
  }
  return code;
}

// Values that differ by design or by clock: compared by type only.
const BY_TYPE = new Set(['Timeticks', 'Counter32', 'Counter64']);
const VERSION_OID = `${KEEPALIVED_MIB}.1.1.0`;

function compareWalks(ours: WalkLine[], theirs: WalkLine[]): string[] {
  const problems: string[] = [];
  const mine = new Map(ours.map((l) => [l.oid, l]));
  const ref = new Map(theirs.map((l) => [l.oid, l]));
  for (const [oid, k] of ref) {
    const t = mine.get(oid);
    if (!t) problems.push(`missing ${oid} (keepalived: ${k.type}: ${k.value})`);
    else if (t.type !== k.type) problems.push(`${oid}: type ${t.type}, keepalived ${k.type}`);
    else if (!BY_TYPE.has(k.type) && oid !== VERSION_OID && t.value !== k.value) problems.push(`${oid}: ${t.value}, keepalived ${k.value}`);
  }
  for (const oid of mine.keys()) if (!ref.has(oid)) problems.push(`extra ${oid} (keepalived does not answer it)`);
  return problems;
}

const trapKey = (t: Trap) => `${t.trapOid} | ${t.varbinds.join(' ; ')}`;

let keepalivedWalk: WalkLine[] = [];
let keepalivedTraps: Trap[] = [];

test('keepalived 2.2.7 under snmpd: the reference walk and notifications', { skip, timeout: 60_000 }, async () => {
  const file = conf();
  lab.startTrapd();
  lab.startSnmpd();
  await waitUntil('snmpd', async () => (await lab.get(['.1.3.6.1.2.1.1.1.0'])).length === 1, 10_000, 100);
  const from = lab.trapLineCount;
  const k = lab.startDaemon('keepalived', file, 'ka');
  try {
    await waitUntil('keepalived: both instances MASTER over SNMP', bothMaster, 20_000, 300);
    keepalivedWalk = await walkAll();
  } finally {
    await stop(k);
  }
  await sleep(1000);
  keepalivedTraps = lab.trapsSince(from).filter(ourTrap);
  assert.ok(keepalivedWalk.length > 150, `keepalived answered ${keepalivedWalk.length} objects`);
  assert.ok(keepalivedTraps.length >= 8, keepalivedTraps.map(trapKey).join('\n'));
});

test('tskeepalived: no master at start, then the same walk and notifications as keepalived; snmpd restarted -> reconnects', {
  skip,
  timeout: 90_000,
}, async (t0) => {
  assert.ok(keepalivedWalk.length > 0, 'the reference run passed');
  const file = join(lan.dir, 'keepalived.conf');
  await lab.stopSnmpd();
  const from = lab.trapLineCount;
  // no master agent at start: one warning, retries in the background, VRRP runs
  const t = lab.startDaemon('tskeepalived', file, 'ts', { TSK_SNMP_BACKOFF_MS: '200' });
  try {
    await waitFor('tskeepalived: VIPs up without a master agent', () => lan.hasAddress(0, '10.79.0.200'), 15_000, 100);
    assert.ok(t.has(/cannot reach the SNMP master agent/), t.lines.join('\n'));
    lab.startSnmpd();
    await waitUntil('tskeepalived: connected and both instances MASTER over SNMP', bothMaster, 20_000, 200);
    const ours = await walkAll();
    const problems = compareWalks(ours, keepalivedWalk);
    const counts = { keepalived: keepalivedWalk.length, tskeepalived: ours.length };
    t0.diagnostic(`objects compared: ${JSON.stringify(counts)}`);
    assert.deepEqual(problems, [], `walk differences (${JSON.stringify(counts)}):\n${problems.join('\n')}`);
    // the same objects through GETBULK (snmpbulkwalk) as through GETNEXT
    assert.deepEqual(
      (await lab.walk(KEEPALIVED_MIB, true)).map((l) => l.oid),
      ours.filter((l) => l.oid.startsWith(`${KEEPALIVED_MIB}.`)).map((l) => l.oid),
    );
    // every SET refused: notWritable
    assert.match(await lab.set(`${KEEPALIVED_MIB}.2.3.1.7.1`, 'i', '50'), /notWritable|not writable/i);

    // snmpd restarted: one warning, reconnect, re-register
    const warnsBefore = t.lines.filter((l) => /lost the SNMP master agent/.test(l)).length;
    await lab.stopSnmpd();
    await sleep(500);
    lab.startSnmpd();
    await waitUntil('tskeepalived: re-registered after the snmpd restart', bothMaster, 15_000, 200);
    assert.equal(t.lines.filter((l) => /lost the SNMP master agent/.test(l)).length, warnsBefore + 1, t.lines.join('\n'));
    assert.ok(lan.hasAddress(0, '10.79.0.200'), 'VRRP unaffected');

    // a reload with the same SNMP settings keeps the session (no new connection) and the answers
    const connects = () => t.lines.filter((l) => /AgentX subagent (re)?connected/.test(l)).length;
    const before = connects();
    t.proc.kill('SIGHUP');
    await waitUntil('the reload', () => t.has(/configuration reloaded/), 10_000, 100);
    assert.ok(await bothMaster(), 'answers after the reload');
    assert.equal(connects(), before, 'the session was kept');
  } finally {
    assert.equal(await stop(t), 0);
  }
  await sleep(1000);
  const ours = lab.trapsSince(from).filter(ourTrap);
  const a = ours.map(trapKey).sort();
  const b = keepalivedTraps.map(trapKey).sort();
  t0.diagnostic(`notifications compared: ${a.length}`);
  assert.deepEqual(a, b, `notifications differ:\nours:\n${a.join('\n')}\nkeepalived:\n${b.join('\n')}`);
});
