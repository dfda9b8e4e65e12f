// D-Bus against keepalived 2.2.7: a private dbus-daemon, then keepalived and bin/tskeepalived in
// turn in a namespace on the same config (two instances, IPv4 and IPv6, a third added by
// ReloadConfig). `gdbus introspect -r` must give the same tree (interfaces, methods, signals,
// properties and their values), PrintData / PrintStats / ReloadConfig / SendGarp must do what
// keepalived's do, and dbus-monitor must see the same signals on each object (VrrpStarted,
// VrrpStatusChange on start, MASTER, FAULT, BACKUP, MASTER and stop, VrrpReloaded, VrrpStopped).
// Then the faults, ours alone: no bus at start, the bus gone and back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DbusLab, haveDbusTools, ROOT, type SeenSignal } from './dbus-lab.js';
import { isRoot, Lan, sh, sleep, waitFor } from './vrrp-helpers.js';
import { spawn } from 'node:child_process';

const skip = !isRoot()
  ? 'needs root (network namespaces)'
  : !haveDbusTools()
    ? 'needs dbus-daemon (dbus-daemon), dbus-monitor (dbus-bin), gdbus (libglib2.0-bin) and keepalived'
    : false;

let lan: Lan;
let bus: DbusLab;

const P1 = `${ROOT}/Instance/eth0/51/IPv4`;
const P6 = `${ROOT}/Instance/eth0/52/IPv6`;
const P7 = `${ROOT}/Instance/eth0/53/IPv4`;

function conf(withThird: boolean, serviceName?: string): string {
  const inst = (name: string, vrid: number, prio: number, vip: string, state = 'BACKUP') =>
    `vrrp_instance ${name} {\n  state ${state}\n  interface eth0\n  virtual_router_id ${vrid}\n  priority ${prio}\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}\n  }\n}\n`;
  return [
    `global_defs {\n  router_id dbuslab\n  enable_dbus\n${serviceName ? `  dbus_service_name ${serviceName}\n` : ''}}\n`,
    inst('VI_1', 51, 100, '10.77.0.100/24'),
    withThird ? inst('VI_7', 53, 50, '10.77.0.101/24') : '',
    inst('VI_6', 52, 150, 'fd77::100/64', 'MASTER'),
  ].join('');
}

before(async () => {
  if (skip) return;
  lan = new Lan(`db${process.pid % 100000}`, 1, '10.77.0', 'fd77');
  bus = new DbusLab(lan);
  await bus.startBus();
  await bus.startMonitor();
});

after(() => {
  lan?.cleanup();
});

async function waitStates(paths: string[], want: number, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    const states = await Promise.all(paths.map((p) => bus.state(p)));
    if (states.every((s) => s === want)) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for state ${want} on ${paths.join(', ')}: ${states.join(', ')}`);
    await sleep(200);
  }
}

async function fileWritten(path: string, since: number, needle: string): Promise<string> {
  await waitFor(`${path} written`, () => existsSync(path) && statSync(path).mtimeMs >= since && readFileSync(path, 'utf8').includes(needle), 5000, 50);
  return readFileSync(path, 'utf8');
}

interface Run {
  introspect: string;
  introspectAfterReload: string;
  props: string[];
  signals: Map<string, string[]>;
  errors: string[];
  dataFile: string;
  statsFile: string;
  /** 'Became master' of each instance in the stats file after PrintStatsClear */
  becameMaster: number[];
}

/**
 * Signals per object path, as "MEMBER args", in the order each object sent them. A VrrpStatusChange
 * repeating the previous one of its object is not a transition and is left out: keepalived 2.2.7
 * sends the start state twice when an instance enters BACKUP while its D-Bus thread is announcing
 * the states of a new connection (seen for the IPv6 instance in some runs). A first
 * VrrpStatusChange 0 (INIT) is left out too: keepalived's D-Bus thread announces each instance's
 * state when it has the name, and an instance still in INIT then (the IPv6 one, in a CI run) is
 * announced as 0 before its real start state; when the VRRP thread was quicker there is no 0.
 */
function byPath(list: SeenSignal[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of list) {
    const seen = out.get(s.path) ?? [];
    const text = [s.member, ...s.args].join(' ');
    if (s.member === 'VrrpStatusChange' && seen[seen.length - 1] === text) continue;
    if (text === 'VrrpStatusChange uint32 0' && !seen.some((x) => x.startsWith('VrrpStatusChange'))) continue;
    out.set(s.path, [...seen, text]);
  }
  return out;
}

async function scenario(kind: 'keepalived' | 'tskeepalived'): Promise<Run> {
  const confPath = lan.writeText(`${kind}.conf`, conf(false));
  const dumps = kind === 'keepalived' ? '/tmp' : lan.dir;
  const mark = bus.monitorMark;
  const node = kind === 'keepalived' ? bus.startKeepalived(confPath, kind) : bus.startTskeepalived(confPath, kind);
  try {
    step(`${kind}: await waitStates([P1, P6], 2, 20_000);`);
    await waitStates([P1, P6], 2, 20_000);
    step(`${kind}: const introspect = (await bus.introspect`);
    const introspect = (await bus.introspect()).out;
    const props: string[] = [];
    for (const p of [P1, P6]) props.push((await bus.call(p, 'org.freedesktop.DBus.Properties.GetAll', 'org.keepalived.Vrrp1.Instance')).out.trim());
    props.push((await bus.call(P1, 'org.freedesktop.DBus.Properties.Get', 'org.keepalived.Vrrp1.Instance', 'Name')).out.trim());
    props.push((await bus.call(`${ROOT}/Vrrp`, 'org.freedesktop.DBus.Properties.GetAll', 'org.keepalived.Vrrp1.Vrrp')).out.trim());
    // errors: the D-Bus error names and texts
    const errors: string[] = [];
    for (const r of [
      await bus.call(P1, 'org.freedesktop.DBus.Properties.Get', 'org.keepalived.Vrrp1.Instance', 'Nope'),
      await bus.call(P1, 'org.freedesktop.DBus.Properties.Set', 'org.keepalived.Vrrp1.Instance', 'Name', "<'x'>"),
      await bus.call(`${ROOT}/Nope`, 'org.freedesktop.DBus.Properties.GetAll', 'org.keepalived.Vrrp1.Instance'),
    ])
      errors.push(r.out.split('\n')[0]);
    // PrintData / PrintStats: the files keepalived writes on SIGUSR1 / SIGUSR2
    step(`${kind}: const t0 = Date.now() - 1000;`);
    const t0 = Date.now() - 1000;
    assert.equal((await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.PrintData')).out.trim(), '()');
    const dataFile = await fileWritten(join(dumps, 'keepalived.data'), t0, 'VI_6');
    assert.equal((await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.PrintStats')).out.trim(), '()');
    step(`${kind}: const statsFile = await`);
    const statsFile = await fileWritten(join(dumps, 'keepalived.stats'), t0, 'VRRP Instance: VI_1');
    // PrintStatsClear: the stats file, then the counters back to 0 (seen in the next PrintStats)
    assert.equal((await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.PrintStatsClear')).out.trim(), '()');
    await sleep(300);
    const t1 = Date.now() - 50;
    await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.PrintStats');
    const cleared = await fileWritten(join(dumps, 'keepalived.stats'), t1, 'VRRP Instance: VI_1');
    const becameMaster = [...cleared.matchAll(/Became master: (\d+)/g)].map((m) => Number(m[1]));
    // SendGarp: one round of gratuitous ARPs for VI_1's VIP
    step(`${kind}: const arp = spawn(`);
    const arp = spawn('ip', ['netns', 'exec', lan.namespaces[0], 'timeout', '5', 'tcpdump', '-n', '-l', '-c', '1', '-i', 'eth0', 'arp and host 10.77.0.100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lan.procs.push(arp);
    let arpOut = '';
    arp.stdout.on('data', (d) => (arpOut += d));
    await sleep(1200);
    assert.equal((await bus.call(P1, 'org.keepalived.Vrrp1.Instance.SendGarp')).out.trim(), '()');
    await new Promise((r) => arp.on('close', r));
    assert.match(arpOut, /10\.77\.0\.100/, `${kind}: SendGarp sent no gratuitous ARP`);
    // ReloadConfig: a third instance appears, VrrpReloaded
    step(`${kind}: lan.writeText(${kind}.conf, conf(true)`);
    lan.writeText(`${kind}.conf`, conf(true));
    assert.equal((await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.ReloadConfig')).out.trim(), '()');
    await waitStates([P1, P6, P7], 2, 20_000);
    step(`${kind}: const introspectAfterReload`);
    const introspectAfterReload = (await bus.introspect()).out;
    // FAULT on link down, back to BACKUP and MASTER on link up
    step(`${kind}: sh('ip', ['-n', lan.namespaces[0], 'link`);
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'down']);
    await waitStates([P1, P6, P7], 3, 10_000);
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', lan.namespaces[0], 'addr', 'replace', 'fd77::1/64', 'dev', 'eth0', 'nodad']);
    await waitStates([P1, P6, P7], 2, 20_000);
    // ReloadConfig removing VI_7: keepalived signals 3 on its object and deletes it
    step(`${kind}: reload removing VI_7`);
    lan.writeText(`${kind}.conf`, conf(false));
    assert.equal((await bus.call(`${ROOT}/Vrrp`, 'org.keepalived.Vrrp1.Vrrp.ReloadConfig')).out.trim(), '()');
    await waitFor(`${kind}: VrrpReloaded twice`, () => bus.signalsSince(mark).filter((s) => s.member === 'VrrpReloaded').length >= 2, 10_000, 50);
    assert.match((await bus.call(P7, 'org.freedesktop.DBus.Properties.GetAll', 'org.keepalived.Vrrp1.Instance')).out, /UnknownMethod: Object does not exist/);
    await waitStates([P1, P6], 2, 5_000);
    step(`${kind}: node.proc.kill('SIGTERM');`);
    node.proc.kill('SIGTERM');
    const code = await Promise.race([node.exited, sleep(15_000).then(() => 'timeout')]);
    assert.notEqual(code, 'timeout', `${kind} did not stop`);
    await waitFor(`${kind}: VrrpStopped`, () => bus.signalsSince(mark).some((s) => s.member === 'VrrpStopped'), 5000, 50);
    return { introspect, introspectAfterReload, props, signals: byPath(bus.signalsSince(mark)), errors, dataFile, statsFile, becameMaster };
  } catch (e) {
    console.error(`${kind} output:\n${node.lines.slice(-60).join('\n')}`);
    throw e;
  } finally {
    if (node.proc.exitCode === null) node.proc.kill('SIGKILL');
    sh('ip', ['-n', lan.namespaces[0], 'link', 'set', 'eth0', 'up']);
  }
}

let reference: Run | undefined;

/** progress lines on stderr with TSK_TEST_DEBUG=1 */
function step(what: string): void {
  if (process.env.TSK_TEST_DEBUG) process.stderr.write(`${new Date().toISOString()} ${what}\n`);
}

test('keepalived 2.2.7 on the private bus: the reference tree, values and signals', { skip, timeout: 90_000 }, async () => {
  reference = await scenario('keepalived');
  // what keepalived 2.2.7 exposes, as measured: the Vrrp object and one object per instance
  assert.match(reference.introspect, /interface org\.keepalived\.Vrrp1\.Vrrp \{/);
  assert.match(reference.introspect, /PrintStatsClear\(\);/);
  assert.match(reference.introspect, /readonly \(us\) State = \(2, 'Master'\);/);
  assert.deepEqual(reference.signals.get(P7), [
    'VrrpStatusChange uint32 1',
    'VrrpStatusChange uint32 2',
    'VrrpStatusChange uint32 3',
    'VrrpStatusChange uint32 1',
    'VrrpStatusChange uint32 2',
    'VrrpStatusChange uint32 3',
  ]);
  assert.deepEqual(reference.signals.get(P1), [
    'VrrpStatusChange uint32 1',
    'VrrpStatusChange uint32 2',
    'VrrpStatusChange uint32 3',
    'VrrpStatusChange uint32 1',
    'VrrpStatusChange uint32 2',
    'VrrpStatusChange uint32 98',
  ]);
  assert.deepEqual(reference.becameMaster, [0, 0], 'PrintStatsClear zeroes the counters');
  // /tmp/keepalived.data and .stats are left as keepalived leaves them (another test may be reading its own)
});

test('tskeepalived: the same tree, values, errors and signals as keepalived; the methods do the same', { skip, timeout: 90_000 }, async (t) => {
  if (!reference) return t.skip('the keepalived reference run failed');
  const ours = await scenario('tskeepalived');
  assert.equal(ours.introspect, reference.introspect, 'gdbus introspect -r at start');
  assert.equal(ours.introspectAfterReload, reference.introspectAfterReload, 'gdbus introspect -r after ReloadConfig');
  assert.deepEqual(ours.props, reference.props, 'Properties.Get / GetAll');
  assert.deepEqual(ours.errors, reference.errors, 'error replies');
  assert.deepEqual(ours.becameMaster, reference.becameMaster, "PrintStatsClear: 'Became master' in the next stats file");
  assert.deepEqual([...ours.signals.keys()].sort(), [...reference.signals.keys()].sort(), 'objects that sent signals');
  for (const [path, list] of reference.signals) assert.deepEqual(ours.signals.get(path), list, `signals of ${path}`);
  // the files name the same instances
  for (const n of ['VI_1', 'VI_6']) {
    assert.ok(ours.dataFile.includes(n) && reference.dataFile.includes(n), `data file names ${n}`);
    assert.ok(ours.statsFile.includes(`VRRP Instance: ${n}`), `stats file has ${n}`);
  }
});

test('tskeepalived: no bus at start, the bus gone and back: one warning each, reconnects, VRRP undisturbed', { skip, timeout: 90_000 }, async (t) => {
  const late = new DbusLab(lan, 'bus2');
  // dbus_service_name: the name owned (keepalived's way to run two daemons on one bus)
  late.dest = 'org.keepalived.Vrrp1.second';
  const confPath = lan.writeText('faults.conf', conf(false, late.dest));
  const node = late.startTskeepalived(confPath, 'faults', { TSK_DBUS_BACKOFF_MS: '200' });
  try {
    await waitFor('both instances MASTER', () => node.lines.filter((l) => /Entering MASTER STATE/.test(l)).length >= 2, 20_000, 50);
    await sleep(1000);
    const noBus = node.lines.filter((l) => /cannot connect to the D-Bus system bus/.test(l));
    assert.equal(noBus.length, 1, `one warning while there is no bus:\n${noBus.join('\n')}`);
    assert.match(noBus[0], /WARN/);
    await late.startBus();
    const t0 = Date.now();
    await waitFor('reconnected', () => node.has(/Acquired the D-Bus name org\.keepalived\.Vrrp1\.second/), 10_000, 50);
    const reconnectMs = Date.now() - t0;
    assert.ok(reconnectMs < 5000, `reconnected after ${reconnectMs} ms (backoff 200 ms doubling)`);
    assert.equal(await late.state(P1), 2);
    // the bus goes away: one warning, VRRP unaffected; it comes back: reconnected
    const before = node.lines.length;
    // the adverts on the wire while the bus goes and comes back (tcpdump -tt: epoch seconds)
    const dump = spawn('ip', ['netns', 'exec', lan.namespaces[0], 'timeout', '12', 'tcpdump', '-tt', '-n', '-l', '-i', 'eth0', 'ip proto 112'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lan.procs.push(dump);
    let adverts = '';
    dump.stdout.on('data', (d) => (adverts += d));
    await sleep(500);
    await late.stopBus();
    await sleep(3000);
    const lost = node.lines.slice(before).filter((l) => /D-Bus/.test(l) && /WARN/.test(l));
    assert.equal(lost.length, 1, `one warning for the lost bus:\n${lost.join('\n')}`);
    assert.ok(!node.lines.slice(before).some((l) => /Entering|Stopped|ERROR|FATAL/.test(l)), 'no VRRP transition or error while the bus is gone');
    await late.startBus();
    await waitFor('reconnected again', () => node.lines.slice(before).some((l) => /D-Bus connection re-established/.test(l)), 15_000, 50);
    assert.equal(await late.state(P6), 2);
    dump.kill('SIGTERM');
    await new Promise((r) => dump.on('close', r));
    const times = [...adverts.matchAll(/^(\d+\.\d+) IP 10\.77\.0\.1 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51,/gm)].map((m) => Number(m[1]));
    assert.ok(times.length >= 4, `VI_1's adverts seen: ${times.length}`);
    const gaps = times.slice(1).map((t, k) => t - times[k]);
    // advert_int 1: a gap of 3 s would let a backup take over; the bus going away must not stretch one
    assert.ok(Math.max(...gaps) < 1.6, `advert gaps while the bus went and came back: ${gaps.map((g) => g.toFixed(3)).join(' ')}`);
    t.diagnostic(
      `reconnected ${reconnectMs} ms after the bus appeared; ${times.length} adverts of VI_1 across the outage, largest gap ${Math.max(...gaps).toFixed(3)} s`,
    );
    node.proc.kill('SIGTERM');
    const code = await Promise.race([node.exited, sleep(15_000).then(() => 'timeout')]);
    assert.equal(code, 0, 'exits 0');
  } finally {
    if (node.proc.exitCode === null) node.proc.kill('SIGKILL');
    await late.stopBus();
  }
});
