// The IPVS backend against the real kernel, through the native generic netlink socket.
// On a kernel without IPVS (the development machines): open() must fail with the clear message;
// the transport itself is exercised with the always-present "nlctrl" family.
// On a kernel with IPVS (scripts/ipvs-vm.sh boots one: `npm run test:ipvs-vm`): the tests at the end.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LbUnavailableError } from '../src/lb/backend.js';
import { createBackend } from '../src/lb/factory.js';
import { openGenlTransport } from '../src/lb/genl-native.js';
import type { GenlTransport } from '../src/lb/genl-transport.js';
import { NetlinkRequestError } from '../src/net/netlink.js';
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from '../src/net/genetlink.js';
import { IPVS_UNAVAILABLE_MESSAGE } from '../src/lb/ipvs-netlink.js';
import type { Destination, LbState, Service, ServiceKey } from '../src/lb/backend.js';
import { formatIpvsadmSave } from '../src/lb/ipvsadm-format.js';
import { deleteNamespaces, nsExec, pidFiles, sh, TSKEEPALIVED_BIN } from './lb-netns-util.js';
import { hasCommand } from './net-lab.js';
import {
  addNs,
  addVeth,
  type Daemon,
  exampleConfig,
  httpRequests,
  ipvsadm,
  ipvsadmListMasked,
  ipvsConnStats,
  ipvsHarness,
  type Reply,
  type Servers,
  startHttpServers,
  startInNs,
  until,
} from './lb-ipvs-lab.js';

async function transportOrSkip(t: { skip: (m: string) => void }): Promise<GenlTransport | undefined> {
  try {
    return await openGenlTransport();
  } catch (e) {
    t.skip(`native socket layer unavailable: ${(e as Error).message}`);
    return undefined;
  }
}

test('generic netlink: resolve nlctrl, IPVS absent -> ENOENT, batched requests answer each', async (t) => {
  const tr = await transportOrSkip(t);
  if (!tr) return;
  try {
    const answer = await tr.request('resolve nlctrl', GENL_ID_CTRL, 0, encodeGetFamily('nlctrl'));
    assert.equal(decodeFamily(answer[0]!).id, GENL_ID_CTRL);
    if (!existsSync('/proc/net/ip_vs')) {
      await assert.rejects(tr.request('resolve IPVS', GENL_ID_CTRL, 0, encodeGetFamily('IPVS')), (e: unknown) => {
        assert.ok(e instanceof NetlinkRequestError);
        assert.equal(e.errno, 2);
        return true;
      });
      const results = await tr.batch(GENL_ID_CTRL, [encodeGetFamily('nlctrl'), encodeGetFamily('IPVS'), encodeGetFamily('nlctrl')]);
      assert.deepEqual(results, [0, 2, 0]);
    }
  } finally {
    tr.close();
  }
});

test('ipvs backend open() on a kernel without IPVS: LbUnavailableError with the exact message', async (t) => {
  if (existsSync('/proc/net/ip_vs')) return t.skip('this kernel has IPVS loaded');
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const b = createBackend('ipvs');
  await assert.rejects(b.open(), (e: unknown) => {
    assert.ok(e instanceof LbUnavailableError);
    assert.equal(e.message, 'IPVS is not available in this kernel (generic netlink family IPVS not found); use --lb-backend=nftables, userspace or dry-run');
    return true;
  });
  assert.equal(IPVS_UNAVAILABLE_MESSAGE.startsWith('IPVS is not available'), true);
});

test('daemon -C with the default ipvs backend on a kernel without IPVS: exit 4, the message, no stack trace', (t) => {
  if (existsSync('/proc/net/ip_vs')) return t.skip('this kernel has IPVS loaded');
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const dir = mkdtempSync(join(tmpdir(), 'tkl-ipvs-'));
  try {
    const conf = join(dir, 'k.conf');
    writeFileSync(
      conf,
      'virtual_server 127.0.0.1 18080 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 127.0.0.2 18081 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n',
    );
    const bin = resolve(fileURLToPath(import.meta.url), '../../../bin/tskeepalived');
    const r = spawnSync(process.execPath, [bin, '-n', '-l', '-G', '-C', '-f', conf, '-p', join(dir, 'k.pid')], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /IPVS is not available in this kernel .*use --lb-backend=nftables, userspace or dry-run/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(join(dir, 'k.pid')), false, 'pid file removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- On a kernel with IPVS (in CI: the VM of scripts/ipvs-vm.sh, `npm run test:ipvs-vm`) ----
// The backend alone (every scheduler, IPv6, UDP, fwmark, persistence, thresholds), then the NAT web
// farm and DR examples run by the daemon with real HTTP traffic through the virtual service, a
// real server failed (removal; inhibit_on_failure -> weight 0) and the same configuration run by
// keepalived 2.2.7, whose `ipvsadm -Ln --sort` and `ipvsadm -Sn` must be the same as ours.

const HAS_IPVS = existsSync('/proc/net/ip_vs');
const P = `tki${process.pid}-`;
const labDir = mkdtempSync(join(tmpdir(), 'tkl-ipvsk-'));
const servers: Servers[] = [];
const daemons: Daemon[] = [];

function kernelSkip(): string | false {
  if (!HAS_IPVS) return 'this kernel has no IPVS (npm run test:ipvs-vm runs these tests in a VM whose kernel has it)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const c of ['ipvsadm', 'keepalived', 'ip']) if (!hasCommand(c)) return `${c} not installed`;
  return false;
}

after(async () => {
  for (const d of daemons) await d.stop().catch(() => {});
  for (const s of servers) s.kill();
  await deleteNamespaces(P);
  rmSync(labDir, { recursive: true, force: true });
});

const svc = (s: Partial<Service> & Pick<Service, 'key' | 'scheduler'>): Service => ({ ops: false, destinations: [], ...s });
const tcp4 = (address: string, port: number): ServiceKey => ({ kind: 'addr', family: 4, protocol: 'TCP', address, port });
const dest = (address: string, port: number, weight: number, lbKind: Destination['lbKind'] = 'NAT', extra: Partial<Destination> = {}): Destination => ({
  address,
  family: address.includes(':') ? 6 : 4,
  port,
  weight,
  lbKind,
  ...extra,
});

test('ipvs backend on a kernel with IPVS: every scheduler, IPv6, UDP, fwmark, persistence; read back by netlink and ipvsadm -Sn', {
  skip: kernelSkip(),
}, async () => {
  const ns = `${P}b`;
  await addNs(ns);
  const scheds = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'dh', 'sh', 'mh', 'lblc', 'lblcr'];
  const state: LbState = {
    services: [
      ...scheds.map((scheduler, i) =>
        svc({ key: tcp4('10.77.0.1', 1000 + i), scheduler, destinations: [dest('10.77.1.1', 80, 1 + i), dest('10.77.1.2', 8080, 2, 'DR')] }),
      ),
      svc({ key: tcp4('10.77.0.1', 2000), scheduler: 'sh', schedFlags: ['sh-port', 'sh-fallback'], destinations: [dest('10.77.1.3', 80, 5, 'TUN')] }),
      svc({ key: tcp4('10.77.0.1', 2001), scheduler: 'wlc', persistenceTimeout: 300, persistenceNetmask: '255.255.255.0', destinations: [] }),
      svc({
        key: { kind: 'addr', family: 4, protocol: 'UDP', address: '10.77.0.2', port: 53 },
        scheduler: 'rr',
        ops: true,
        destinations: [dest('10.77.1.4', 53, 1, 'NAT', { uthreshold: 100, lthreshold: 10 })],
      }),
      svc({
        key: { kind: 'addr', family: 6, protocol: 'TCP', address: '2001:db8::1', port: 443 },
        scheduler: 'wrr',
        destinations: [dest('2001:db8::10', 443, 7)],
      }),
      svc({
        key: { kind: 'fwmark', family: 4, protocol: 'TCP', fwmark: 42 },
        scheduler: 'rr',
        persistenceTimeout: 60,
        destinations: [dest('10.77.1.5', 0, 1, 'DR')],
      }),
    ],
  };
  const expected = formatIpvsadmSave(state);
  const applied = await ipvsHarness(ns, 'apply', state);
  assert.deepEqual(applied.save, expected, 'netlink read-back after apply');
  assert.equal(applied.batches, 1, 'one batch');
  assert.deepEqual(await ipvsadm(ns, '-Sn'), expected, 'ipvsadm -Sn');
  assert.match((await ipvsadm(ns, '-Ln', '--thresholds')).join('\n'), /-> 10\.77\.1\.4:53\s+100\s+10\s/);
  // a weight change, a removal and a new destination: a plan of exactly three requests
  const changed: LbState = structuredClone(state);
  changed.services[0]!.destinations = [dest('10.77.1.1', 80, 0), dest('10.77.1.9', 80, 4)];
  const second = await ipvsHarness(ns, 'apply', changed);
  assert.deepEqual(second.save, formatIpvsadmSave(changed));
  assert.equal(second.requests, 3, 'set weight 0, delete one destination, add one');
  assert.deepEqual(await ipvsadm(ns, '-Sn'), formatIpvsadmSave(changed));
  const released = await ipvsHarness(ns, 'release', changed);
  assert.deepEqual(released.save, []);
  assert.deepEqual(await ipvsadm(ns, '-Sn'), []);
});

interface Snapshot {
  list: string;
  save: string[];
}

async function snapshot(ns: string): Promise<Snapshot> {
  const save = await ipvsadm(ns, '-Sn');
  assert.deepEqual((await ipvsHarness(ns, 'read')).save, save, 'netlink read-back = ipvsadm -Sn');
  return { list: await ipvsadmListMasked(ns), save };
}

const tskArgv = (conf: string, tag: string) => {
  const d = join(labDir, tag);
  mkdirSync(d, { recursive: true });
  return [process.execPath, TSKEEPALIVED_BIN, '-n', '-l', '-D', '-G', '-C', '-f', conf, ...pidFiles(d)];
};
const kaArgv = (conf: string, tag: string) => {
  const d = join(labDir, tag);
  mkdirSync(d, { recursive: true });
  return ['keepalived', '-n', '-l', '-G', '-C', '-f', conf, ...pidFiles(d)];
};
const tally = (replies: Reply[]) => {
  const t: Record<string, number> = {};
  for (const r of replies) t[r.reply] = (t[r.reply] ?? 0) + 1;
  return t;
};

test('NAT web farm example through kernel IPVS: wrr traffic, failures (removal, inhibit -> weight 0, sorry server), same ipvsadm as keepalived 2.2.7', {
  skip: kernelSkip(),
}, async (t) => {
  const [D, C, R] = [`${P}nd`, `${P}nc`, `${P}nr`];
  await addNs(D, true);
  await addNs(C);
  await addNs(R);
  await addVeth(D, 'eth0', C, 'c0');
  await addVeth(D, 'eth1', R, 'r0');
  // the addresses VRRP would hold (VI_PUBLIC, VI_GATEWAY) are put there by hand: -C runs the checkers only
  for (const a of ['203.0.113.1/24', '203.0.113.10/24']) await sh('ip', '-n', D, 'addr', 'add', a, 'dev', 'eth0');
  await sh('ip', '-n', D, 'addr', 'add', '10.10.0.1/24', 'dev', 'eth1');
  await sh('ip', '-n', C, 'addr', 'add', '203.0.113.100/24', 'dev', 'c0');
  for (const a of ['10.10.0.11', '10.10.0.12', '10.10.0.13', '10.10.0.250']) await sh('ip', '-n', R, 'addr', 'add', `${a}/24`, 'dev', 'r0');
  await sh('ip', '-n', R, 'route', 'add', 'default', 'via', '10.10.0.1');
  const web = await startHttpServers(R, [
    { name: 'rs11', host: '10.10.0.11', port: 80 },
    { name: 'rs12', host: '10.10.0.12', port: 80 },
    { name: 'rs13', host: '10.10.0.13', port: 80 },
    { name: 'sorry', host: '10.10.0.250', port: 8080 },
  ]);
  servers.push(web);
  // the example, with delay_loop 1 and inhibit_on_failure on the small box (weight 0 instead of removal)
  const conf = join(labDir, 'nat-web-farm.conf');
  writeFileSync(
    conf,
    exampleConfig('nat-web-farm.conf', (t) => t.replace(/(real_server 10\.10\.0\.13 80 \{\n)/, '$1        inhibit_on_failure\n')),
  );
  const VS = '-t 203.0.113.10:80';
  const healthySave = [`-A ${VS} -s wrr`, `-a ${VS} -r 10.10.0.11:80 -m -w 3`, `-a ${VS} -r 10.10.0.12:80 -m -w 3`, `-a ${VS} -r 10.10.0.13:80 -m -w 1`];
  const failedSave = [`-A ${VS} -s wrr`, `-a ${VS} -r 10.10.0.11:80 -m -w 3`, `-a ${VS} -r 10.10.0.13:80 -m -w 0`];
  const sorrySave = [`-A ${VS} -s wrr`, `-a ${VS} -r 10.10.0.13:80 -m -w 0`, `-a ${VS} -r 10.10.0.250:8080 -m -w 1`];
  const get = (count: number) => httpRequests(C, { host: '203.0.113.10', port: 80, count, sources: ['203.0.113.100'] });

  async function run(argv: string[], traffic: boolean): Promise<{ healthy: Snapshot; failed: Snapshot; sorry: Snapshot }> {
    const t0 = Date.now();
    const d = startInNs(D, argv);
    daemons.push(d);
    const save = () => ipvsadm(D, '-Sn');
    const eq = (want: string[]) => (got: string[]) => JSON.stringify(got) === JSON.stringify(want);
    await until(save, eq(healthySave), 'the three web servers in IPVS', 120_000, d.log);
    t.diagnostic(`${argv[0] === 'keepalived' ? 'keepalived' : 'tskeepalived'}: services in IPVS ${Date.now() - t0} ms after start`);
    const healthy = await snapshot(D);
    if (traffic) {
      // wrr 3:3:1 over 70 new connections: exactly 10 rounds
      assert.deepEqual(tally(await get(70)), { rs11: 30, rs12: 30, rs13: 10 });
      // the kernel's counters (summed from per-CPU counters by the estimator every 2 s)
      const want = { '10.10.0.11:80': 30, '10.10.0.12:80': 30, '10.10.0.13:80': 10 };
      await until(
        () => ipvsConnStats(D),
        (s) => JSON.stringify(s) === JSON.stringify(want),
        'the kernel to count 30/30/10 connections',
        10_000,
      );
    }
    await web.down('rs12');
    await until(save, (l) => !l.some((x) => x.includes('10.10.0.12')), 'rs12 removed', 40_000, d.log);
    if (traffic) assert.deepEqual(tally(await get(40)), { rs11: 30, rs13: 10 });
    await web.down('rs13');
    await until(save, eq(failedSave), 'rs13 inhibited (weight 0)', 40_000, d.log);
    const failed = await snapshot(D);
    if (traffic) assert.deepEqual(tally(await get(10)), { rs11: 10 }, 'weight 0 gets no new connections');
    // the last one with weight down too: quorum lost, the sorry server takes the traffic
    await web.down('rs11');
    await until(save, eq(sorrySave), 'the sorry server in IPVS', 40_000, d.log);
    const sorry = await snapshot(D);
    if (traffic) assert.deepEqual(tally(await get(5)), { sorry: 5 });
    await web.up('rs11');
    await web.up('rs12');
    await web.up('rs13');
    await until(save, eq(healthySave), 'both back with their weights', 40_000, d.log);
    if (traffic) assert.deepEqual(tally(await get(7)), { rs11: 3, rs12: 3, rs13: 1 });
    assert.equal(await d.stop(), 0, `exit code; output:\n${d.log()}`);
    assert.deepEqual(await save(), [], 'virtual server removed at stop');
    return { healthy, failed, sorry };
  }

  const ours = await run(tskArgv(conf, 'tsk-nat'), true);
  assert.equal(ours.healthy.list.split('\n')[3], 'TCP  203.0.113.10:80 wrr');
  const theirs = await run(kaArgv(conf, 'ka-nat'), false);
  assert.deepEqual(ours, theirs, 'ipvsadm -Ln --sort / -Sn: tskeepalived = keepalived 2.2.7');
});

test('DR example through kernel IPVS: lc + persistence over a bridge, a failed server removed, same ipvsadm as keepalived 2.2.7', {
  skip: kernelSkip(),
}, async (t) => {
  const [D, C, S1, S2] = [`${P}dd`, `${P}dc`, `${P}d1`, `${P}d2`];
  await addNs(D);
  await addNs(C);
  await addNs(S1);
  await addNs(S2);
  // one L2 segment: a bridge named eth0 (the example's interface) in the director's namespace
  await sh('ip', '-n', D, 'link', 'add', 'eth0', 'type', 'bridge');
  await sh('ip', '-n', D, 'link', 'set', 'eth0', 'up');
  for (const a of ['198.51.100.1/24', '198.51.100.80/24']) await sh('ip', '-n', D, 'addr', 'add', a, 'dev', 'eth0');
  for (const [ns, port] of [
    [C, 'pc'],
    [S1, 'p1'],
    [S2, 'p2'],
  ] as const) {
    await addVeth(D, port, ns, 'e0');
    await sh('ip', '-n', D, 'link', 'set', port, 'master', 'eth0');
  }
  const sources = ['198.51.100.100', '198.51.100.101', '198.51.100.102', '198.51.100.103'];
  for (const a of sources) await sh('ip', '-n', C, 'addr', 'add', `${a}/24`, 'dev', 'e0');
  // real servers own the VIP on lo and do not answer ARP for it
  for (const [ns, a] of [
    [S1, '198.51.100.21'],
    [S2, '198.51.100.22'],
  ] as const) {
    await sh('ip', '-n', ns, 'addr', 'add', `${a}/24`, 'dev', 'e0');
    await sh('ip', '-n', ns, 'addr', 'add', '198.51.100.80/32', 'dev', 'lo');
    await nsExec(ns, 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2');
  }
  const w1 = await startHttpServers(S1, [{ name: 'rs21', host: '0.0.0.0', port: 443 }]);
  const w2 = await startHttpServers(S2, [{ name: 'rs22', host: '0.0.0.0', port: 443 }]);
  servers.push(w1, w2);
  const conf = join(labDir, 'dr.conf');
  writeFileSync(conf, exampleConfig('dr.conf'));
  const VS = '-t 198.51.100.80:443';
  const healthySave = [`-A ${VS} -s lc -p 300`, `-a ${VS} -r 198.51.100.21:443 -g -w 1`, `-a ${VS} -r 198.51.100.22:443 -g -w 1`];
  const failedSave = [`-A ${VS} -s lc -p 300`, `-a ${VS} -r 198.51.100.21:443 -g -w 1`];
  const get = (count: number) => httpRequests(C, { host: '198.51.100.80', port: 443, count, sources });

  async function run(argv: string[], traffic: boolean): Promise<{ healthy: Snapshot; failed: Snapshot }> {
    const t0 = Date.now();
    const d = startInNs(D, argv);
    daemons.push(d);
    const save = () => ipvsadm(D, '-Sn');
    const eq = (want: string[]) => (got: string[]) => JSON.stringify(got) === JSON.stringify(want);
    await until(save, eq(healthySave), 'both real servers in IPVS', 120_000, d.log);
    t.diagnostic(`${argv[0] === 'keepalived' ? 'keepalived' : 'tskeepalived'}: services in IPVS ${Date.now() - t0} ms after start`);
    const healthy = await snapshot(D);
    if (traffic) {
      const replies = await get(16);
      const bySource = new Map<string, Set<string>>();
      for (const r of replies) bySource.set(r.src, (bySource.get(r.src) ?? new Set()).add(r.reply));
      for (const [src, got] of bySource) assert.equal(got.size, 1, `persistence: ${src} always on one server (${[...got]})`);
      assert.deepEqual(new Set(replies.map((r) => r.reply)), new Set(['rs21', 'rs22']), 'lc spreads the clients over both');
      assert.match((await ipvsadm(D, '-Lnc')).join('\n'), /TCP\s+\S+\s+\S+\s+198\.51\.100\.10\d:0\s+198\.51\.100\.80:443\s/, 'persistence templates');
    }
    await w2.down('rs22');
    await until(save, eq(failedSave), 'rs22 removed', 40_000, d.log);
    const failed = await snapshot(D);
    if (traffic) assert.deepEqual(tally(await get(8)), { rs21: 8 }, 'every client on the survivor');
    await w2.up('rs22');
    await until(save, eq(healthySave), 'rs22 back', 40_000, d.log);
    assert.equal(await d.stop(), 0, `exit code; output:\n${d.log()}`);
    assert.deepEqual(await save(), [], 'virtual server removed at stop');
    return { healthy, failed };
  }

  const ours = await run(tskArgv(conf, 'tsk-dr'), true);
  const theirs = await run(kaArgv(conf, 'ka-dr'), false);
  assert.deepEqual(ours, theirs, 'ipvsadm -Ln --sort / -Sn: tskeepalived = keepalived 2.2.7');
});
