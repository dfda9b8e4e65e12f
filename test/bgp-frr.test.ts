// The FRR driver: what it sends (frrPlan from a parsed running configuration), and the driver
// against a real FRR 8 bgpd in a throwaway namespace (no peer needed: bgpd's own table and running
// configuration are asserted): attributes reach bgpd's table, an operator's lines stay untouched,
// a previous run's leftovers are withdrawn at start, a bgpd that is down is retried until it
// answers, a bgpd without `router bgp` is reported, an unchanged set sends nothing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FrrDriver } from '../src/bgp/frr-driver.js';
import { frrAnnounced, frrPlan, frrRouteMapName, frrSync, parseFrrRunning } from '../src/bgp/frr-routes.js';
import { withFrrVty } from '../src/bgp/frr-vty.js';
import type { BgpRoute } from '../src/bgp/types.js';
import { hasErrorCode } from '../src/util/errors.js';
import { hasFrr } from './bgp-lab.js';
import { isRoot, waitFor } from './vrrp-helpers.js';

const route = (prefix: string, a: Partial<BgpRoute['attrs']> = {}): BgpRoute => ({
  prefix,
  family: prefix.includes(':') ? 6 : 4,
  attrs: { communities: [], largeCommunities: [], ...a },
});

describe('FRR commands (pure)', () => {
  it('one route-map per attribute set, shared; only the difference is sent', () => {
    const a = route('192.0.2.10/32', { med: 50, communities: ['65001:80', '1:2'] });
    const b = route('192.0.2.11/32', { med: 50, communities: ['1:2', '65001:80'] });
    const c = route('2001:db8::1/128', { localPref: 200, largeCommunities: ['65001:1:2'] });
    const rmA = frrRouteMapName('tsk', a.attrs);
    assert.equal(rmA, frrRouteMapName('tsk', b.attrs), 'the same attributes in another order: the same route-map');
    assert.match(rmA, /^tsk_[0-9a-f]{8}$/);
    const empty = parseFrrRunning('router bgp 65001\n bgp router-id 10.0.0.1\nexit\n', 'tsk');
    assert.equal(empty.instanceAsn, 65001);
    const cmds = frrPlan(empty, [a, b, c], 'tsk');
    assert.deepEqual(cmds.slice(0, 4), [`route-map ${rmA} permit 10`, 'set metric 50', 'set community 1:2 65001:80', 'exit']);
    assert.ok(cmds.includes(`network 192.0.2.10/32 route-map ${rmA}`));
    assert.ok(cmds.includes('address-family ipv6 unicast'));
    assert.ok(cmds.includes('set large-community 65001:1:2'));
    assert.equal(cmds.filter((x) => x.startsWith('route-map ')).length, 2);
    // what bgpd would then show: nothing more to send; a withdrawal removes the unused route-map
    const running = `router bgp 65001
 !
 address-family ipv4 unicast
  network 192.0.2.10/32 route-map ${rmA}
  network 192.0.2.11/32 route-map ${rmA}
  network 198.51.100.0/24
 exit-address-family
exit
!
route-map ${rmA} permit 10
 set metric 50
 set community 1:2 65001:80
exit
!
route-map tsk_export permit 10
exit
`;
    const owned = parseFrrRunning(running, 'tsk');
    assert.deepEqual([...owned.networks.keys()], ['192.0.2.10/32', '192.0.2.11/32']);
    assert.deepEqual([...owned.routeMaps], [[rmA, 2]]);
    assert.deepEqual(frrPlan(owned, [a, b], 'tsk'), []);
    assert.deepEqual(frrPlan(owned, [], 'tsk'), [
      'router bgp 65001',
      'address-family ipv4 unicast',
      'no network 192.0.2.10/32',
      'no network 192.0.2.11/32',
      'exit-address-family',
      'exit',
      `no route-map ${rmA}`,
    ]);
    // another instance than the configured one: nothing of it is ours
    assert.equal(parseFrrRunning(running, 'tsk', 65002).networks.size, 0);
  });
});

const skip = !isRoot() ? 'needs root (network namespaces)' : !hasFrr() ? 'needs FRR (apt-get install frr)' : false;

describe('FRR driver against a real bgpd', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tkfrr-'));
  const ns = `tkfd${process.pid % 100000}`;
  const vty = join(dir, 'frr', 'bgpd.vty');
  const pidFile = join(dir, 'frr', 'bgpd.pid');
  const confPath = join(dir, 'frr', 'bgpd.conf');
  const record = join(dir, 'state', 'frr-routes.conf');
  const log = pino({ level: 'silent' });
  const target = { controlSocket: vty, protocolName: 'tsk', commandTimeout: 2000 };
  const startBgpd = (conf: string) => {
    mkdirSync(join(dir, 'frr'), { recursive: true });
    writeFileSync(confPath, conf);
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, '/usr/lib/frr/bgpd', '-d', '-S', '-Z', '-P', '0', '-p', '0', '--vty_socket', join(dir, 'frr'), '-i', pidFile, '-f', confPath],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
  };
  const killBgpd = () => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* not running */
    }
    rmSync(vty, { force: true });
  };
  const show = (cmd: string) => withFrrVty(vty, 2000, (s) => s.run(cmd));
  after(() => {
    killBgpd();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('announce, withdraw, set reach bgpd with their attributes; leftovers go, the operator lines stay; a bgpd that is down is retried', async () => {
    spawnSync('ip', ['netns', 'add', ns]);
    const d = new FrrDriver({ ...target, routesFile: record, retryMs: 200, guard: false }, log);
    await d.start();
    assert.equal(d.health().ok, false, 'bgpd is not running yet');
    assert.match(d.health().reason ?? '', /cannot talk to FRR/);
    const a = route('192.0.2.10/32', { med: 7, localPref: 300, communities: ['65001:80'], largeCommunities: ['65001:1:2'] });
    await d.announce(a);
    await assert.rejects(frrAnnounced(target), (e) => hasErrorCode(e, 'TSK_ERR_FRR_CONTROL'));
    // bgpd starts later, with what a previous run left and lines of the operator
    startBgpd(`router bgp 65001
 bgp router-id 10.0.0.1
 no bgp network import-check
 address-family ipv4 unicast
  network 198.51.100.0/24
  network 192.0.2.99/32 route-map tsk_deadbeef
 exit-address-family
exit
route-map tsk_deadbeef permit 10
 set metric 1
exit
route-map tsk_export permit 10
exit
`);
    await waitFor('the driver healthy', () => d.health().ok, 5000);
    assert.deepEqual(await d.announced(), ['192.0.2.10/32']);
    const j = JSON.parse(await show('show bgp ipv4 unicast 192.0.2.10/32 json')) as {
      paths: { metric?: number; locPrf?: number; community?: { string: string }; largeCommunity?: { string: string } }[];
    };
    assert.equal(j.paths[0]?.metric, 7);
    assert.equal(j.paths[0]?.locPrf, 300);
    assert.equal(j.paths[0]?.community?.string, '65001:80');
    assert.equal(j.paths[0]?.largeCommunity?.string, '65001:1:2');
    let running = await show('show running-config');
    assert.match(running, /network 198\.51\.100\.0\/24\n/, 'the operator network stays');
    assert.match(running, /route-map tsk_export permit 10/, 'a route-map not named like ours stays');
    assert.doesNotMatch(running, /192\.0\.2\.99|tsk_deadbeef/, 'the leftovers are withdrawn');
    assert.match(readFileSync(record, 'utf8'), /network 192\.0\.2\.10\/32 route-map tsk_[0-9a-f]{8}/);
    // unchanged: nothing sent
    assert.equal((await frrSync(target, [a])).commands, 0);
    await d.announce(route('2001:db8::10/128'));
    assert.deepEqual((await d.announced()).sort(), ['192.0.2.10/32', '2001:db8::10/128']);
    // new attributes: another route-map, the old one removed
    await d.announce(route('192.0.2.10/32', { med: 8, communities: [], largeCommunities: [] }));
    running = await show('show running-config');
    assert.equal((running.match(/^route-map tsk_[0-9a-f]{8} /gm) ?? []).length, 2, running);
    assert.match(running, /set metric 8/);
    assert.doesNotMatch(running, /set metric 7/);
    await d.withdraw('192.0.2.10/32');
    assert.deepEqual(await d.announced(), ['2001:db8::10/128']);
    await d.set([route('192.0.2.11/32')]);
    assert.deepEqual(await d.announced(), ['192.0.2.11/32']);
    await d.stop({ withdraw: true });
    assert.deepEqual(await d.announced(), []);
    running = await show('show running-config');
    assert.doesNotMatch(running, /route-map tsk_[0-9a-f]{8}/);
    assert.match(running, /network 198\.51\.100\.0\/24\n/);
    assert.doesNotMatch(readFileSync(record, 'utf8'), /network /);
  });

  it('a bgpd without router bgp (or another ASN) is reported, and no instance is created', async () => {
    killBgpd();
    startBgpd('hostname x\n');
    await waitFor('bgpd up', () => spawnSync('test', ['-S', vty]).status === 0, 5000);
    const d = new FrrDriver({ ...target, routesFile: record, retryMs: 60_000, guard: false }, log);
    await d.start();
    await d.announce(route('192.0.2.10/32'));
    assert.equal(d.health().ok, false);
    assert.match(d.health().reason ?? '', /has no 'router bgp'/);
    await d.stop({ withdraw: false });
    assert.doesNotMatch(await show('show running-config'), /router bgp/);
    const e = new FrrDriver({ ...target, asn: 65009, routesFile: record, retryMs: 60_000, guard: false }, log);
    await withFrrVty(vty, 2000, async (s) => {
      for (const c of ['configure terminal', 'router bgp 65001', 'end']) await s.run(c);
    });
    await e.start();
    await e.announce(route('192.0.2.10/32'));
    assert.match(e.health().reason ?? '', /has no 'router bgp 65009'/);
    await e.stop({ withdraw: false });
  });
});
