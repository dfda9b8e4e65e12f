// The BGP integration scenario in the namespace lab (test/bgp-lab.ts), for either driver of the
// load balancers (test/bgp-lab.test.ts: BIRD 2, test/bgp-lab-frr.test.ts: FRR): a router running
// BIRD 2 with ECMP, two load balancers each running their BGP daemon + tskeepalived, a client.
// Asserted on the router's kernel routing table: both nodes as next hops while healthy; a node
// whose real server dies, that is stopped (SIGTERM) or killed (SIGKILL) leaves the multipath
// route, and comes back when restarted; the client's connections keep being answered.
// VRRP-follow: the MASTER's path is the best (lower MED), the BACKUP announces the worse one, and
// a failover moves the route.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { BgpLab, ECMP_VIP, hasBird, hasFrr, type LabDriver, type LbNode, lbConfig, VRRP_VIP } from './bgp-lab.js';
import { httpGetIn } from './daemon-netns.js';
import { isRoot, waitFor } from './vrrp-helpers.js';

function lbConf(lb: LbNode, ecmpMed = 50, extra = ''): string {
  return lbConfig(lb, {
    statusListen: '127.0.0.1:9180',
    ecmpAttrs: `    med ${ecmpMed}
    community 65001:80
`,
    extra,
  });
}

/**
 * The lab's scenario for one driver of the load balancers (the router runs BIRD 2 either way);
 * `more` adds driver-specific cases at the end, on the same lab.
 */
export function bgpLabSuite(driver: LabDriver, more?: (lab: () => BgpLab) => void): void {
  const skip = !isRoot()
    ? 'needs root (network namespaces)'
    : !hasBird()
      ? 'needs BIRD 2 (apt-get install bird2)'
      : driver === 'frr' && !hasFrr()
        ? 'needs FRR (apt-get install frr)'
        : false;
  describe(`BGP announcements through ${driver === 'frr' ? "FRR's bgpd" : 'BIRD 2'}`, { skip, timeout: 110_000 }, () => {
    let lab: BgpLab;
    const both = (): string[] => lab.lbs.map((l) => l.address).sort();

    before(async () => {
      lab = new BgpLab(`${driver === 'frr' ? 'tf' : 'tb'}${process.pid % 100000}`, 2, [ECMP_VIP], driver);
      lab.startRouterBird();
      for (const lb of lab.lbs) {
        writeFileSync(lb.confPath, lbConf(lb));
        lab.startLbBgp(lb);
        await lab.startServer(lb);
        lab.startDaemon(lb);
      }
    });
    after(() => lab?.cleanup());

    it('both healthy nodes are next hops of a multipath route; traffic reaches both', async (t) => {
      const ms = await waitFor('a multipath route with both nodes', () => lab.nexthops(ECMP_VIP).join() === both().join(), 30_000, 100);
      t.diagnostic(`multipath route after ${ms} ms`);
      const counts = lab.requests(ECMP_VIP, 30);
      assert.equal((counts.lb1 ?? 0) + (counts.lb2 ?? 0), 30, JSON.stringify(counts));
      assert.ok(counts.lb1 && counts.lb2, `both nodes answer: ${JSON.stringify(counts)}`);
      const s = await httpGetIn(lab.lbs[0]!.ns, 'http://127.0.0.1:9180/status');
      const bgp = (
        JSON.parse(s.text) as { bgp: { health: { ok: boolean; guardPid: number }; announcements: { prefix: string; state: string; why: string }[] } }
      ).bgp;
      assert.equal(bgp.health.ok, true);
      assert.ok(bgp.health.guardPid > 0);
      const a = bgp.announcements.find((x) => x.prefix === `${ECMP_VIP}/32`);
      assert.equal(a?.state, 'announced');
      assert.match(a!.why, /quorum up/);
      const m = await httpGetIn(lab.lbs[0]!.ns, 'http://127.0.0.1:9180/metrics');
      assert.match(m.text, /tskeepalived_bgp_announced\{prefix="192\.0\.2\.10\/32",mode="ecmp",source="virtual_server 192\.0\.2\.10 80"\} 1/);
      assert.match(m.text, new RegExp(`tskeepalived_bgp_driver_up\\{driver="${driver}"\\} 1`));
      const paths = await lab.routerPaths(ECMP_VIP);
      assert.deepEqual(
        paths.map((p) => p.med),
        [50, 50],
        JSON.stringify(paths),
      );
    });

    it('a node whose real server dies leaves the route; traffic flows through the other; it comes back', async (t) => {
      const lb1 = lab.lbs[0]!;
      const t0 = Date.now();
      lab.stopServer(lb1);
      await waitFor('lb1 withdrawn', () => lab.nexthops(ECMP_VIP).join() === lab.lbs[1]!.address, 10_000, 20);
      t.diagnostic(`real server down -> next hop gone in ${Date.now() - t0} ms (delay_loop 1 s, connect_timeout 1 s)`);
      const counts = lab.requests(ECMP_VIP, 20);
      assert.deepEqual(counts, { lb2: 20 });
      const s = await httpGetIn(lb1.ns, 'http://127.0.0.1:9180/status');
      const a = (JSON.parse(s.text) as { bgp: { announcements: { prefix: string; state: string; why: string }[] } }).bgp.announcements.find(
        (x) => x.prefix === `${ECMP_VIP}/32`,
      );
      assert.equal(a?.state, 'withdrawn');
      assert.match(a!.why, /quorum lost/);
      await lab.startServer(lb1);
      await waitFor('lb1 back', () => lab.nexthops(ECMP_VIP).join() === both().join(), 10_000, 50);
    });

    it('SIGTERM withdraws (routes file emptied), a restart announces again', async (t) => {
      const lb1 = lab.lbs[0]!;
      const t0 = Date.now();
      lb1.daemon!.proc.kill('SIGTERM');
      await waitFor('lb1 withdrawn', () => lab.nexthops(ECMP_VIP).join() === lab.lbs[1]!.address, 10_000, 20);
      t.diagnostic(`SIGTERM -> next hop gone in ${Date.now() - t0} ms`);
      assert.equal(await lb1.daemon!.exited, 0);
      // BIRD: the include file has no route; FRR: the record has no network statement
      assert.doesNotMatch(readFileSync(lb1.routesFile, 'utf8'), /route |network /);
      assert.deepEqual(lab.requests(ECMP_VIP, 10), { lb2: 10 });
      lab.startDaemon(lb1);
      await waitFor('lb1 back', () => lab.nexthops(ECMP_VIP).join() === both().join(), 15_000, 50);
    });

    it('SIGKILL withdraws through the guard, a restart announces again', async (t) => {
      const lb1 = lab.lbs[0]!;
      const t0 = Date.now();
      lb1.daemon!.proc.kill('SIGKILL');
      await waitFor('lb1 withdrawn', () => lab.nexthops(ECMP_VIP).join() === lab.lbs[1]!.address, 10_000, 20);
      t.diagnostic(`SIGKILL -> next hop gone in ${Date.now() - t0} ms`);
      assert.deepEqual(lab.requests(ECMP_VIP, 10), { lb2: 10 });
      lab.startDaemon(lb1);
      await waitFor('lb1 back', () => lab.nexthops(ECMP_VIP).join() === both().join(), 15_000, 50);
      assert.ok(lab.requests(ECMP_VIP, 30).lb1, 'lb1 answers again');
    });

    it('VRRP-follow: the MASTER has the best path, the BACKUP a worse one; a failover moves the route', async (t) => {
      const [lb1, lb2] = lab.lbs as [LbNode, LbNode];
      // lb1 (priority 150) is MASTER once its restart has settled
      await waitFor('the route to the VRRP VIP via lb1', () => lab.nexthops(VRRP_VIP).join() === lb1.address, 20_000, 100);
      let paths = await lab.routerPaths(VRRP_VIP);
      const by = (p: typeof paths, proto: string) => p.find((x) => x.proto === proto);
      assert.equal(by(paths, 'lb1')?.med, 10, JSON.stringify(paths));
      assert.equal(by(paths, 'lb1')?.best, true);
      for (let i = 0; i < 50 && !by(paths, 'lb2'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        paths = await lab.routerPaths(VRRP_VIP);
      }
      assert.equal(by(paths, 'lb2')?.med, 200, `the BACKUP announces the worse path: ${JSON.stringify(paths)}`);
      assert.equal(by(paths, 'lb2')?.best, false);
      const t0 = Date.now();
      lb1.daemon!.proc.kill('SIGTERM');
      await waitFor('the route via lb2', () => lab.nexthops(VRRP_VIP).join() === lb2.address, 10_000, 20);
      // the BACKUP's worse path takes over at once; then the new MASTER re-announces with the better MED
      t.diagnostic(`MASTER stopped -> route via the BACKUP's path in ${Date.now() - t0} ms`);
      for (let i = 0; i < 100; i++) {
        paths = await lab.routerPaths(VRRP_VIP);
        if (paths.length === 1 && paths[0]!.med === 10) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      t.diagnostic(`-> the new MASTER's MED 10 after ${Date.now() - t0} ms`);
      assert.deepEqual(
        paths.map((p) => [p.proto, p.med]),
        [['lb2', 10]],
      );
    });

    it('SIGHUP applies a changed bgp block; a block with errors keeps the running announcements', async () => {
      const lb2 = lab.lbs[1]!;
      const medOfLb2 = async () => (await lab.routerPaths(ECMP_VIP)).find((p) => p.proto === 'lb2')?.med;
      writeFileSync(lb2.confPath, lbConf(lb2, 70));
      lb2.daemon!.proc.kill('SIGHUP');
      for (let i = 0; i < 100 && (await medOfLb2()) !== 70; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await medOfLb2(), 70);
      writeFileSync(lb2.confPath, lbConf(lb2, 90, '\n  protocol_name no-dashes'));
      lb2.daemon!.proc.kill('SIGHUP');
      await waitFor('the refused bgp block', () => lb2.daemon!.has(/the bgp block has errors: keeping the running bgp block/), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await medOfLb2(), 70);
    });
    more?.(() => lab);
  });
}
