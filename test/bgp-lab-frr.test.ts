// The BGP lab scenario (test/bgp-lab-suite.ts) with FRR's bgpd on the load balancers (driver frr),
// and what is FRR's own: bgpd forgets runtime configuration when it restarts, so the driver's
// resync hands the set over again; the route guard withdraws through the vty socket.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bgpLabSuite } from './bgp-lab-suite.js';
import { ECMP_VIP } from './bgp-lab.js';
import { frrAnnounced } from '../src/bgp/frr-routes.js';
import { waitFor } from './vrrp-helpers.js';

bgpLabSuite('frr', (lab) => {
  it("FRR: bgpd holds tskeepalived's network statements; a restarted bgpd gets them again (resync)", async (t) => {
    const l = lab();
    const [lb1, lb2] = l.lbs;
    const both = l.lbs.map((x) => x.address).sort();
    // the VRRP case stopped lb1's tskeepalived
    if (lb1!.daemon!.proc.exitCode !== null || lb1!.daemon!.proc.signalCode !== null) l.startDaemon(lb1!);
    await waitFor('both next hops', () => l.nexthops(ECMP_VIP).join() === both.join(), 20_000, 50);
    const target = { controlSocket: lb1!.controlSocket, protocolName: 'tskeepalived', commandTimeout: 2000 };
    assert.ok((await frrAnnounced(target)).includes(`${ECMP_VIP}/32`));
    assert.match(readFileSync(lb1!.routesFile, 'utf8'), new RegExp(`network ${ECMP_VIP.replace(/\./g, '\\.')}/32 route-map tskeepalived_[0-9a-f]{8}`));
    l.killLbFrr(lb1!);
    await waitFor('lb1 gone with its bgpd', () => l.nexthops(ECMP_VIP).join() === lb2!.address, 15_000, 50);
    const t0 = Date.now();
    l.startLbFrr(lb1!);
    await waitFor('lb1 back after the resync', () => l.nexthops(ECMP_VIP).join() === both.join(), 20_000, 50);
    t.diagnostic(`bgpd restarted -> lb1's next hop back in ${Date.now() - t0} ms (resync every 5 s)`);
  });
});
