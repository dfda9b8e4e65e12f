// vrrp_track_process at run time: a uniquely named copy of sleep is started and killed; tskeepalived
// in a network namespace goes to FAULT / changes the priority it advertises, seen with tcpdump from a
// second namespace. keepalived 2.2.7 cannot be the oracle here: in a network namespace other than the
// initial one its proc connector fails ("Failed to set/clear process event listen - errno 111") and
// every tracked process stays down (FAULT); it would have to run in the host's namespace, where these
// tests put no address. The expected priorities are keepalived.conf(5)'s rules (weight, reverse, quorum).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { advertisedPriorities, Lan, startKeepalived, startTsNode, waitFor, sleep, isRoot } from './vrrp-helpers.js';

const canRun = isRoot() && existsSync('/usr/bin/tcpdump');
const skip = canRun ? false : 'needs root and tcpdump';
let lan: Lan;
// the process name (comm) the trackers look for: unique per run, at most 15 characters
const NAME = `tps${process.pid}`.slice(0, 15);
let bin = '';
const procs: ChildProcess[] = [];

before(() => {
  if (!canRun) return;
  lan = new Lan(`tkp-${process.pid}`, 2, '10.64.0', 'fd64');
  bin = join(lan.dir, NAME);
  copyFileSync('/bin/sleep', bin);
});
after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  lan?.cleanup();
});

function startTracked(): ChildProcess {
  const p = spawn(bin, ['1000'], { stdio: 'ignore' });
  procs.push(p);
  return p;
}

async function killTracked(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await Promise.race([gone, sleep(3000)]);
}

const conf = (w = 20) => `
vrrp_track_process tp_fault {
  process ${NAME}
}
vrrp_track_process tp_w {
  process ${NAME}
  weight ${w}
}
vrrp_track_process tp_q {
  process ${NAME} 1000
  quorum 2
  weight -30
}
vrrp_track_process tp_other {
  process ${NAME} 999
  param_match initial
  weight 7
}
${[
  ['VI_F', 91, 150, 'tp_fault'],
  ['VI_W', 92, 100, 'tp_w'],
  ['VI_R', 93, 100, 'tp_w weight 10 reverse'],
  ['VI_Q', 94, 100, 'tp_q'],
  ['VI_O', 95, 100, 'tp_other'],
]
  .map(
    ([name, vrid, prio, track]) => `vrrp_instance ${name} {
  state BACKUP
  interface eth0
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int 1
  virtual_ipaddress { 10.64.1.${vrid}/32 }
  track_process {
    ${track}
  }
}`,
  )
  .join('\n')}
`;

/** one process: VI_F up, +20, -10 (reverse), quorum 2 not met (-30), other parameters (0) */
const ONE = { 91: 150, 92: 120, 93: 90, 94: 70, 95: 100 };
/** none: VI_F in FAULT (silent), the weights of a down process */
const NONE = { 91: undefined, 92: 100, 93: 100, 94: 70, 95: 100 };
/** two: the quorum of tp_q is met */
const TWO = { 91: 150, 92: 120, 93: 90, 94: 100, 95: 100 };
const row = (m: Map<number, number>) => Object.fromEntries([91, 92, 93, 94, 95].map((v) => [v, m.get(v)]));

async function scenario(
  path: string,
  start: () => ReturnType<typeof startTsNode>,
  who: string,
): Promise<{ one: object; none: object; two: object; reloaded: object; faultMs: number; backMs: number }> {
  const first = startTracked();
  const node = start();

  try {
    await waitFor(`${who}: VI_F MASTER`, () => lan.hasAddress(0, '10.64.1.91') && lan.hasAddress(0, '10.64.1.92'), 10_000, 50);
    await sleep(500);
    const one = row(advertisedPriorities(lan.namespaces[1]));
    await killTracked(first);
    const faultMs = await waitFor(`${who}: VI_F leaves MASTER (FAULT) when the process is killed`, () => !lan.hasAddress(0, '10.64.1.91'), 5000, 20);
    await sleep(800);
    const none = row(advertisedPriorities(lan.namespaces[1]));
    startTracked();
    startTracked();
    const backMs = await waitFor(`${who}: VI_F MASTER again when the process runs`, () => lan.hasAddress(0, '10.64.1.91'), 10_000, 20);
    await sleep(800);
    const two = row(advertisedPriorities(lan.namespaces[1]));
    // reload with another weight for tp_w: VI_W and VI_R restart (VI_R's reference keeps its own weight)
    writeFileSync(path, conf(40));
    node.proc.kill('SIGHUP');
    await waitFor(`${who}: VI_W gone after the reload`, () => !lan.hasAddress(0, '10.64.1.92'), 5000, 20);
    await waitFor(`${who}: VI_W MASTER after the reload`, () => lan.hasAddress(0, '10.64.1.92') && lan.hasAddress(0, '10.64.1.93'), 10_000, 50);
    await sleep(500);
    const reloaded = row(advertisedPriorities(lan.namespaces[1]));
    return { one, none, two, reloaded, faultMs, backMs };
  } finally {
    node.proc.kill('SIGTERM');
    const exit = await Promise.race([node.exited, sleep(5000).then(() => 'still running 5 s after SIGTERM')]);
    for (const p of procs) await killTracked(p);
    assert.equal(exit, 0, `${who} exits on SIGTERM`);
  }
}

test('track_process: FAULT without weight, weight / reverse / quorum / param_match move the advertised priority', { skip, timeout: 60_000 }, async () => {
  const path = lan.writeText('tp.conf', conf());
  const ours = await scenario(path, () => startTsNode(lan, 0, path), 'tskeepalived');
  console.log(`# tskeepalived: FAULT ${ours.faultMs} ms after the kill, MASTER ${ours.backMs} ms after the restart`);
  assert.deepEqual(ours.one, ONE, 'one process running');
  assert.deepEqual(ours.none, NONE, 'process killed');
  assert.deepEqual(ours.two, TWO, 'two processes running');
  assert.deepEqual(ours.reloaded, { ...TWO, 92: 140 }, 'after a reload to weight 40');
});

// With no matching process at all, keepalived 2.2.7 in a namespace is a faithful oracle (its proc
// connector failing or not, the processes are down): the priorities of down weighted processes, on an
// instance, a sync group member without sync_group_tracking_weight (keepalived keeps its weight) and a
// group with sync_group_tracking_weight.
const downConf = () => `
vrrp_track_process tn_w {
  process ${NAME}x
  weight -30
}
vrrp_track_process tn_r {
  process ${NAME}x
  weight -10 reverse
}
vrrp_sync_group G {
  group {
    VI_S1
    VI_S2
  }
}
vrrp_sync_group GW {
  group {
    VI_T1
    VI_T2
  }
  sync_group_tracking_weight
  track_process {
    tn_w
  }
}
${[
  ['VI_A', 81, 'tn_w'],
  ['VI_B', 82, 'tn_r'],
  ['VI_S1', 83, 'tn_w'],
  ['VI_S2', 84, ''],
  ['VI_T1', 85, 'tn_r'],
  ['VI_T2', 86, ''],
]
  .map(
    ([name, vrid, track]) => `vrrp_instance ${name} {
  state BACKUP
  interface eth0
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  virtual_ipaddress { 10.64.2.${vrid}/32 }
${track ? `  track_process {\n    ${track}\n  }` : ''}
}`,
  )
  .join('\n')}
`;
const DOWN_EXPECTED = { 81: 70, 82: 110, 83: 70, 84: 100, 85: 80, 86: 70 };

test('track_process, processes down: tskeepalived advertises the priorities keepalived 2.2.7 advertises on the same config', {
  skip: canRun && existsSync('/usr/sbin/keepalived') ? false : 'needs root, tcpdump and keepalived',
  timeout: 60_000,
}, async () => {
  const path = lan.writeText('tn.conf', downConf());
  const run = async (start: () => ReturnType<typeof startTsNode>, who: string) => {
    const node = start();
    try {
      await waitFor(`${who}: all MASTER`, () => [81, 82, 83, 84, 85, 86].every((v) => lan.hasAddress(0, `10.64.2.${v}`)), 10_000, 50);
      await sleep(500);
      const m = advertisedPriorities(lan.namespaces[1]);
      return Object.fromEntries([81, 82, 83, 84, 85, 86].map((v) => [v, m.get(v)]));
    } finally {
      node.proc.kill('SIGTERM');
      await Promise.race([node.exited, sleep(5000)]);
    }
  };
  const theirs = await run(() => startKeepalived(lan, 0, path, 'tn'), 'keepalived');
  await waitFor('keepalived released its VIPs', () => !lan.hasAddress(0, '10.64.2.81'), 5000, 50);
  const ours = await run(() => startTsNode(lan, 0, path), 'tskeepalived');
  assert.deepEqual(theirs, DOWN_EXPECTED, 'keepalived 2.2.7 advertises the documented priorities');
  assert.deepEqual(ours, theirs, 'tskeepalived advertises what keepalived advertises');
});
