// BGP withdrawal benchmark (root, BIRD 2; FRR for --driver frr). Build first, then:
//   npm run bench:bgp [-- --rounds 20] [--only server|kill|vrrp]      (load balancers with BIRD 2)
//   npm run bench:bgp-frr [-- --rounds 20] [--only server|kill|vrrp]  (load balancers with FRR's bgpd)
// The lab of test/bgp-lab.ts: a router with BIRD 2 (ECMP), two load balancers with BIRD 2 (or
// FRR's bgpd) + tskeepalived, eBGP. Measured on the router's kernel routing table (polled every 10 ms):
//   1. real server killed on lb1 (TCP_CHECK, delay_loop 1 s, connect_timeout 1 s, retry 0)
//      -> lb1's next hop gone from the multipath route;
//   2. SIGKILL of lb1's tskeepalived -> lb1's next hop gone (the route guard withdraws);
//   3. VRRP-follow: SIGKILL of the MASTER's tskeepalived -> the route moves to the BACKUP's
//      (worse, already announced) path; beside it the VRRP failover itself: the VIP on the
//      BACKUP (its Master_Down_Interval, 3 x advert_int 1 s + skew).
// keepalived has no BGP: there is no keepalived figure to set beside these.
import { writeFileSync } from 'node:fs';
import { BgpLab, ECMP_VIP, hasBird, hasFrr, type LabDriver, type LbNode, lbConfig, VRRP_VIP } from '../test/bgp-lab.js';
import { isRoot, sleep, sh, waitFor } from '../test/vrrp-helpers.js';
import { pct } from './watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ROUNDS = arg('rounds', 20);
/** --only server|kill|vrrp: one part */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const runs = (part: string) => ONLY === undefined || ONLY === part;
/** --driver bird|frr: the load balancers' BGP daemon */
const DRIVER: LabDriver = process.argv.includes('--driver') && process.argv[process.argv.indexOf('--driver') + 1] === 'frr' ? 'frr' : 'bird';

function line(label: string, v: number[]): string {
  return `${label.padEnd(58)} n=${String(v.length).padStart(2)}  p50 ${pct(v, 50).toFixed(0).padStart(5)} ms  p99 ${pct(v, 99).toFixed(0).padStart(5)} ms  max ${Math.max(
    ...v,
  )
    .toFixed(0)
    .padStart(5)} ms`;
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('bench:bgp needs root (network namespaces)');
  if (!hasBird()) throw new Error('bench:bgp needs BIRD 2: apt-get install bird2');
  if (DRIVER === 'frr' && !hasFrr()) throw new Error('bench:bgp-frr needs FRR: apt-get install frr');
  console.log(`load balancers' BGP daemon: ${DRIVER === 'frr' ? "FRR's bgpd (driver frr)" : 'BIRD 2 (driver bird)'}; router: BIRD 2`);
  const lab = new BgpLab(`bb${process.pid % 100000}`, 2, [ECMP_VIP], DRIVER);
  const stop = () => {
    lab.cleanup();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  try {
    const [lb1, lb2] = lab.lbs as [LbNode, LbNode];
    const both = [lb1.address, lb2.address].sort().join();
    lab.startRouterBird();
    for (const lb of lab.lbs) {
      writeFileSync(lb.confPath, lbConfig(lb));
      lab.startLbBgp(lb);
      await lab.startServer(lb);
      lab.startDaemon(lb);
    }
    const multipath = () => lab.nexthops(ECMP_VIP).join() === both;
    await waitFor('the multipath route', multipath, 30_000, 100);

    const serverDown: number[] = [];
    for (let r = 0; r < (runs('server') ? ROUNDS : 0); r++) {
      await sleep(300 + Math.random() * 1000); // a random phase of the checker's delay_loop
      const t0 = performance.now();
      const mark = lb1.daemon!.lines.length;
      lab.stopServer(lb1);
      await waitFor('lb1 withdrawn', () => lab.nexthops(ECMP_VIP).join() === lb2.address, 10_000, 10);
      const ms = performance.now() - t0;
      serverDown.push(ms);
      // an outlier: what lb1's daemon logged meanwhile
      if (ms > 3000) console.log(`round ${r}: ${ms.toFixed(0)} ms; lb1 logged:\n  ${lb1.daemon!.lines.slice(mark).join('\n  ')}`);
      await lab.startServer(lb1);
      await waitFor('lb1 back', multipath, 10_000, 50);
    }
    if (runs('server')) console.log(line('real server killed -> next hop gone (delay_loop 1 s)', serverDown));

    const killed: number[] = [];
    for (let r = 0; r < (runs('kill') ? ROUNDS : 0); r++) {
      await sleep(300);
      const t0 = performance.now();
      lb1.daemon!.proc.kill('SIGKILL');
      await waitFor('lb1 withdrawn', () => lab.nexthops(ECMP_VIP).join() === lb2.address, 10_000, 10);
      killed.push(performance.now() - t0);
      lab.startDaemon(lb1);
      await waitFor('lb1 back', multipath, 15_000, 50);
    }
    if (runs('kill')) console.log(line('SIGKILL of tskeepalived -> next hop gone (route guard)', killed));

    const routeMoved: number[] = [];
    const vipMoved: number[] = [];
    const hasVip = (ns: string) => sh('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'lo']).out.includes(` ${VRRP_VIP}/`);
    for (let r = 0; r < (runs('vrrp') ? ROUNDS : 0); r++) {
      // lb1 MASTER (best path), lb2 BACKUP announcing the worse path
      try {
        await waitFor('lb1 MASTER and lb2 announcing', () => lab.nexthops(VRRP_VIP).join() === lb1.address && !hasVip(lb2.ns), 20_000, 50);
      } catch (e) {
        // what the lab looked like: the router's paths, the VIPs, the daemons' last lines
        console.log(`round ${r}: next hops ${lab.nexthops(VRRP_VIP).join()}; VIP on lb1 ${hasVip(lb1.ns)}, on lb2 ${hasVip(lb2.ns)}`);
        console.log(JSON.stringify(await lab.routerPaths(VRRP_VIP)));
        for (const lb of [lb1, lb2]) console.log(`lb${lb.index}:\n  ${lb.daemon!.lines.slice(-15).join('\n  ')}`);
        throw e;
      }
      for (let i = 0; i < 100 && (await lab.routerPaths(VRRP_VIP)).length < 2; i++) await sleep(50);
      await sleep(Math.random() * 1000);
      const t0 = performance.now();
      lb1.daemon!.proc.kill('SIGKILL');
      let routeAt: number | undefined;
      await waitFor(
        'the VIP on lb2',
        () => {
          if (routeAt === undefined && lab.nexthops(VRRP_VIP).join() === lb2.address) routeAt = performance.now();
          return hasVip(lb2.ns);
        },
        15_000,
        10,
      );
      vipMoved.push(performance.now() - t0);
      await waitFor('the route via lb2', () => lab.nexthops(VRRP_VIP).join() === lb2.address, 5000, 10);
      routeMoved.push((routeAt ?? performance.now()) - t0);
      // the killed MASTER left its VIP on lo; a restarted daemon takes it over again
      lab.startDaemon(lb1);
    }
    if (runs('vrrp')) {
      console.log(line('VRRP-follow: SIGKILL of the MASTER -> route via the BACKUP', routeMoved));
      console.log(line('  beside it, VRRP failover: the VIP on the BACKUP', vipMoved));
    }
  } finally {
    lab.cleanup();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
