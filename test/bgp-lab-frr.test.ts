// The BGP lab scenario (test/bgp-lab-suite.ts) with FRR's bgpd on the load balancers (driver frr),
// and what is FRR's own: bgpd forgets runtime configuration when it restarts, so the driver's
// resync hands the set over again.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bgpLabSuite } from './bgp-lab-suite.js';
import { ECMP_VIP } from './bgp-lab.js';
import { frrAnnounced } from '../src/bgp/frr-routes.js';

bgpLabSuite('frr', (lab) => {
  it("FRR: bgpd holds tskeepalived's network statements; a restarted bgpd gets them again (resync)", async (t) => {
    const l = lab();
    const lb1 = l.lbs[0]!;
    // the VRRP case stopped lb1's tskeepalived
    if (lb1.daemon!.proc.exitCode !== null || lb1.daemon!.proc.signalCode !== null) l.startDaemon(lb1);
    let paths: { proto: string }[] = [];
    const lb1Path = async () => {
      paths = await l.routerPaths(ECMP_VIP);
      return paths.some((p) => p.proto === 'lb1');
    };
    const until = async (what: string, want: boolean, ms: number) => {
      const end = Date.now() + ms;
      while ((await lb1Path()) !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await lb1Path(), want, `${what}: ${JSON.stringify(paths)}`);
    };
    await until("lb1's path on the router", true, 20_000);
    const target = { controlSocket: lb1.controlSocket, protocolName: 'tskeepalived', commandTimeout: 2000 };
    assert.ok((await frrAnnounced(target)).includes(`${ECMP_VIP}/32`));
    assert.match(readFileSync(lb1.routesFile, 'utf8'), new RegExp(`network ${ECMP_VIP.replace(/\./g, '\\.')}/32 route-map tskeepalived_[0-9a-f]{8}`));
    l.killLbFrr(lb1);
    await until("lb1's path gone with its bgpd", false, 15_000);
    const t0 = Date.now();
    l.startLbFrr(lb1);
    await until("lb1's path back after the driver's resync", true, 20_000);
    t.diagnostic(`bgpd restarted -> lb1's path back on the router in ${Date.now() - t0} ms (resync every 5 s)`);
    assert.ok((await frrAnnounced(target)).includes(`${ECMP_VIP}/32`));
  });
});
