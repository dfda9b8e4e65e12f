// Benchmark of the userspace schedulers (pure, injected clock, no sockets): a seeded workload of mixed
// connection durations (test/lb-sched-workload.ts) over servers with weights 10..1. For each scheduler it
// prints the share of connections and of time-averaged active connections per server against the weight
// share (the largest gap in percentage points), and the scheduling decisions per second including the
// IPVS counter updates. No IPVS kernel here, so there is no keepalived run to compare with.
//
//   node dist/bench/lb-schedulers.js [--connections 100000] [--gap 20] [--seed 1]
import { meanActive, runScheduler, tally, workload } from '../test/lb-sched-workload.js';
import type { Server } from '../test/lb-sched-workload.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const n = arg('connections', 100_000);
const gap = arg('gap', 20);
const seed = arg('seed', 1);
const servers: Server[] = Array.from({ length: 10 }, (_, i) => ({ weight: 10 - i }));
const wsum = servers.reduce((a, s) => a + s.weight, 0);
const conns = workload(seed, n, gap);

const pct = (xs: number[]) => {
  const sum = xs.reduce((a, b) => a + b, 0) || 1;
  return xs.map((x) => (x / sum) * 100);
};
const maxGap = (xs: number[]) => Math.max(...pct(xs).map((p, i) => Math.abs(p - (servers[i]!.weight / wsum) * 100)));

console.log(`${n} connections, mean gap ${gap} ms, weights ${servers.map((s) => s.weight).join(':')}, seed ${seed}`);
console.log('scheduler  decisions/s  conn share gap (pp)  active share gap (pp)  mean active total  refused');
for (const name of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'lblc', 'lblcr', 'fo', 'ovf']) {
  const t0 = process.hrtime.bigint();
  const picks = runScheduler(name, servers, conns);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const counts = tally(picks, servers.length);
  const active = meanActive(picks, conns, servers.length);
  const refused = picks.filter((p) => p < 0).length;
  console.log(
    `${name.padEnd(9)}  ${Math.round(n / secs)
      .toString()
      .padStart(11)}  ${maxGap(counts).toFixed(1).padStart(19)}  ${maxGap(active).toFixed(1).padStart(21)}  ${active
      .reduce((a, b) => a + b, 0)
      .toFixed(1)
      .padStart(17)}  ${String(refused).padStart(7)}`,
  );
}
