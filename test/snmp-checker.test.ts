// The checker part of KEEPALIVED-MIB (virtualServerTable, realServerTable) and its notifications.
// keepalived's checker process exits on a kernel without IPVS, so it cannot be the oracle here:
// bin/tskeepalived (--lb-backend=dry-run) under snmpd, its walk checked against the MIB's columns
// and the daemon's own /status, following a real server that comes up; SET of a real server's weight.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { httpGetIn, waitUntil } from './daemon-netns.js';
import { KEEPALIVED_MIB, SnmpLab, haveSnmpTools, ourTrap } from './snmp-lab.js';
import { Lan, isRoot, sleep, type Node } from './vrrp-helpers.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveSnmpTools() ? 'needs snmpd, snmptrapd, snmp (snmpwalk) and keepalived' : false;

let lan: Lan;
let lab: SnmpLab;
const port = 40000 + (process.pid % 10000) * 2;
const rsUp = 18081;
const rsLater = 18082;
const statusPort = 18099;

before(() => {
  if (skip) return;
  lan = new Lan(`sc${process.pid % 100000}`, 1, '10.83.0', 'fd83');
  lab = new SnmpLab(lan, 0, port);
});
after(() => lan?.cleanup());

function listener(p: number): Node {
  const node = lab.startDaemonRaw(process.execPath, ['-e', `require('net').createServer((s)=>s.end()).listen(${p}, '127.0.0.1')`]);
  return node;
}

const CHECK = `${KEEPALIVED_MIB}.3`;
const col = (table: number, c: number, ...ix: number[]) => `${CHECK}.${table}.1.${c}.${ix.join('.')}`;

test('virtual and real servers over SNMP follow the checkers and /status; a real server coming up is notified', { skip, timeout: 60_000 }, async () => {
  const conf = lan.writeText(
    'checker.conf',
    `global_defs {
  router_id snmpcheck
  enable_snmp_checker
  enable_traps
}
virtual_server 10.83.0.50 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 5
  real_server 127.0.0.1 ${rsUp} {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.1 ${rsLater} {
    weight 7
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`,
  );
  lab.startTrapd();
  lab.startSnmpd();
  await waitUntil('snmpd', async () => (await lab.get(['.1.3.6.1.2.1.1.1.0'])).length === 1, 10_000, 100);
  listener(rsUp);
  const from = lab.trapLineCount;
  const d = lab.startDaemon('tskeepalived', conf, 'chk', {}, ['-C', '--lb-backend=dry-run', `--status-listen=127.0.0.1:${statusPort}`]);
  try {
    const value = async (oid: string) => (await lab.get([oid]))[0]?.value;
    await waitUntil('real server 1 alive over SNMP', async () => (await value(col(4, 6, 1, 1))) === '1', 20_000, 300);
    // real servers start alive, as keepalived's; the second one fails its first check
    await waitUntil('real server 2 dead over SNMP', async () => (await value(col(4, 6, 1, 2))) === '2', 20_000, 300);
    const walk = await lab.walk(CHECK);
    const at = (oid: string) => walk.find((l) => l.oid === oid);
    // the MIB's columns, types and values from the config and the checkers
    assert.deepEqual(at(col(3, 2, 1)), { oid: col(3, 2, 1), type: 'INTEGER', value: '2' }, 'virtualServerType ip(2)');
    assert.equal(at(col(3, 6, 1))?.value, '0A 53 00 32', 'virtualServerAddress 10.83.0.50');
    assert.deepEqual([at(col(3, 7, 1))?.type, at(col(3, 7, 1))?.value], ['Gauge32', '80']);
    assert.equal(at(col(3, 9, 1))?.value, '2', 'wrr');
    assert.equal(at(col(3, 22, 1))?.value, '5', 'quorum 5 (a sum of live weights, as keepalived)');
    assert.equal(at(col(3, 20, 1))?.value, '2', 'two real servers');
    const status = JSON.parse((await httpGetIn(lan.namespaces[0], `http://127.0.0.1:${statusPort}/status`)).text);
    const reals = status.checkers.virtualServers[0].realServers as { realServer: string; alive: boolean; weight: number }[];
    assert.equal(reals.length, 2);
    reals.forEach((r, i) => {
      assert.equal(at(col(4, 6, 1, i + 1))?.value, r.alive ? '1' : '2', `realServerStatus of ${r.realServer} as /status`);
      assert.equal(at(col(4, 7, 1, i + 1))?.value, String(r.weight), `realServerWeight of ${r.realServer} as /status`);
      assert.equal(at(col(4, 5, 1, i + 1))?.value, String([rsUp, rsLater][i]));
    });
    assert.deepEqual(
      reals.map((r) => r.alive),
      [true, false],
    );
    assert.equal(at(col(4, 7, 1, 1))?.value, '3', 'weight as configured');
    assert.equal(at(col(3, 21, 1))?.value, '1', 'one real server up');
    assert.equal(at(col(3, 23, 1))?.value, '2', 'quorum not met: 3 < 5');
    // the second real server comes up: SNMP follows, a realServerStateChange is sent, quorum met
    listener(rsLater);
    await waitUntil('real server 2 alive over SNMP', async () => (await value(col(4, 6, 1, 2))) === '1', 20_000, 300);
    await waitUntil('quorum met over SNMP', async () => (await value(col(3, 23, 1))) === '1', 10_000, 300);
    await sleep(500);
    const traps = lab.trapsSince(from).filter(ourTrap);
    const rsTraps = traps.filter((t) => t.trapOid === `${CHECK}.5.0.1` && t.varbinds.includes(`${CHECK}.4.1.5 = Gauge32: ${rsLater}`));
    // down after its first failed check, then up: realServerStatus dead(2), alive(1), with the VS's counts
    assert.deepEqual(
      rsTraps.map((t) => [t.varbinds.find((v) => v.startsWith(`${CHECK}.4.1.6 `)), t.varbinds.find((v) => v.startsWith(`${CHECK}.3.1.21 `))]),
      [
        [`${CHECK}.4.1.6 = INTEGER: 2`, `${CHECK}.3.1.21 = Gauge32: 1`],
        [`${CHECK}.4.1.6 = INTEGER: 1`, `${CHECK}.3.1.21 = Gauge32: 2`],
      ],
      JSON.stringify(traps, null, 1),
    );
    assert.ok(
      traps.some((t) => t.trapOid === `${CHECK}.5.0.2` && t.varbinds.includes(`${CHECK}.3.1.23 = INTEGER: 1`)),
      'virtualServerQuorumStateChange to met',
    );
    // SET realServerWeight, as keepalived: applied by the checker engine (/status), other objects refused
    assert.match(await lab.set(col(4, 7, 1, 1), 'i', '9'), /= INTEGER: 9/);
    assert.equal(await value(col(4, 7, 1, 1)), '9');
    const after = JSON.parse((await httpGetIn(lan.namespaces[0], `http://127.0.0.1:${statusPort}/status`)).text);
    assert.equal(after.checkers.virtualServers[0].realServers[0].weight, 9, 'the checker engine took the weight');
    assert.match(await lab.set(col(4, 7, 1, 1), 's', 'x'), /wrongType/i);
    assert.match(await lab.set(col(4, 7, 1, 1), 'i', '-1'), /wrongValue/i);
    assert.match(await lab.set(col(4, 6, 1, 1), 'i', '2'), /notWritable|not writable/i);
    assert.equal(await value(col(4, 6, 1, 1)), '1');
  } finally {
    d.proc.kill('SIGTERM');
    await Promise.race([d.exited, sleep(8000)]);
  }
});
