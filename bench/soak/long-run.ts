// Soak: the long run (issue 10, part 5). Needs root, keepalived, cc.
//   node dist/bench/soak/long-run.js [--minutes 30] [--instances 50] [--real-servers 1000] [--every 60]
//
// Two pairs on one bridge (test/vrrp-helpers Lan): tskeepalived a (MASTER) + b (BACKUP), and
// keepalived 2.2.7 c + d, each pair with `instances` VRRP instances (advert_int 1) and each daemon
// checking `real-servers` real servers (70% HTTP_GET, 30% TCP_CHECK, delay_loop 1) on responders on
// its namespace's loopback: about 2 x real-servers checks/s per pair. keepalived's checkers run with
// the IPVS shim (see checker-lab.ts). Every `every` s, each daemon's RSS and fd count (the floor of
// 5 samples a second apart: checks in flight come and go) are sampled, printed as a series; the
// verdict: the least-squares RSS slope over the last two-thirds of the run, the lowest fd floor of
// the last two-thirds against the first third's, timers against their bound (goal: no growth trend).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lan } from '../../test/vrrp-helpers.js';
import {
  type Daemon,
  FaultServers,
  Lab,
  type ServerGroup,
  activeResources,
  checkersConf,
  median,
  parseFlags,
  procSample,
  removeStaleNamespaces,
  sh,
  sleep,
  slope,
  startKeepalived,
  startOurs,
} from './checker-lab.js';

const flags = parseFlags(process.argv.slice(2), { minutes: 30, instances: 50, 'real-servers': 1000, every: 60 });
const out = (s = '') => process.stdout.write(s + '\n');
const SUBNET = '10.213.0';
const STATUS_PORT = 19100;

function vrrpText(pair: number, master: boolean): string {
  const lines: string[] = [];
  for (let i = 0; i < flags.instances; i++) {
    lines.push(
      `vrrp_instance VI_${i + 1} {`,
      `  state ${master ? 'MASTER' : 'BACKUP'}`,
      '  interface eth0',
      `  virtual_router_id ${pair * 100 + i + 1}`,
      `  priority ${master ? 150 : 100}`,
      '  advert_int 1',
      '  virtual_ipaddress {',
      `    10.213.${pair}.${i + 1}/32`,
      '  }',
      '}',
    );
  }
  return lines.join('\n');
}

interface Point {
  t: number;
  fds: number;
  rssMB: number;
  timers?: number;
}

interface Node {
  name: string;
  ns: string;
  daemon: Daemon;
  responders: FaultServers;
  series: Point[];
  ours: boolean;
}

async function sample(n: Node, t: number): Promise<Point> {
  let fds = Infinity;
  let rssKB = 0;
  let timers: number | undefined;
  for (let i = 0; i < 5; i++) {
    const s = procSample(n.daemon.pids());
    fds = Math.min(fds, s.fds);
    rssKB = s.rssKB;
    if (n.ours) {
      const res = await n.responders.get(`http://127.0.0.1:${STATUS_PORT}/metrics`).catch(() => ({ status: 0, body: '' }));
      // the most seen: a checker loop waiting for a slot of the in-flight limiter has no timer
      if (res.status === 200) timers = Math.max(timers ?? 0, activeResources(res.body).Timeout ?? 0);
    }
    if (i < 4) await sleep(1000);
  }
  return { t, fds, rssMB: rssKB / 1024, ...(timers !== undefined ? { timers } : {}) };
}

function vipCount(ns: string, pair: number): number {
  return sh('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'], true)
    .split('\n')
    .filter((l) => l.includes(` 10.213.${pair}.`)).length;
}

async function main(): Promise<void> {
  removeStaleNamespaces(['lr']);
  const lab = new Lab('lr');
  try {
    const lan = new Lan(lab.prefix, 4, SUBNET, 'fd13:213');
    lab.teardown.push(() => lan.cleanup());
    for (const ns of lan.namespaces) lab.prepare(ns);
    const shim = lab.buildShim();
    const nHttp = Math.round(flags['real-servers'] * 0.7);
    const timing = { delayLoop: 1, connectTimeout: 2, retry: 1, delayBeforeRetry: 1 };
    const groups: ServerGroup[] = [
      { vsPort: 18080, check: 'HTTP_GET', ports: Array.from({ length: nHttp }, (_, i) => 20000 + i), timing },
      { vsPort: 18081, check: 'TCP_CHECK', ports: Array.from({ length: flags['real-servers'] - nHttp }, (_, i) => 30000 + i), timing },
    ];
    const nodes: Node[] = [];
    const names = ['tskeepalived-a', 'tskeepalived-b', 'keepalived-c', 'keepalived-d'];
    for (const [i, ns] of lan.namespaces.entries()) {
      const responders = FaultServers.start(lab, ns);
      await responders.ready;
      await responders.listen(groups.flatMap((g) => g.ports));
      const ours = i < 2;
      const pair = ours ? 1 : 2;
      const conf = join(lab.dir, `${names[i]}.conf`);
      writeFileSync(conf, checkersConf(names[i], groups, vrrpText(pair, i % 2 === 0)));
      const daemon = ours ? startOurs(lab, ns, names[i], conf, [], STATUS_PORT) : startKeepalived(lab, ns, names[i], conf, shim, []);
      nodes.push({ name: names[i], ns, daemon, responders, series: [], ours });
    }
    out(
      `long-run soak: ${flags.minutes} min; two pairs on one bridge (tskeepalived a/b, keepalived 2.2.7 c/d), ${flags.instances} VRRP instances per pair (advert_int 1), ` +
        `each daemon checking ${flags['real-servers']} real servers (${nHttp} HTTP_GET, ${flags['real-servers'] - nHttp} TCP_CHECK, delay_loop 1 s) on its loopback`,
    );
    await sleep(20_000);
    for (const n of nodes) if (n.daemon.exited) throw new Error(`${n.name} exited during start-up:\n${n.daemon.tail()}`);
    const t0 = Date.now();
    const counts0 = await Promise.all(nodes.map((n) => n.responders.stats()));
    const end = t0 + flags.minutes * 60_000;
    let next = t0;
    while (Date.now() < end && nodes.every((n) => !n.daemon.exited)) {
      const t = (Date.now() - t0) / 60_000;
      const points = await Promise.all(nodes.map((n) => sample(n, t)));
      for (const [i, p] of points.entries()) nodes[i].series.push(p);
      out(
        `  ${t.toFixed(1).padStart(5)} min  ` +
          points.map((p, i) => `${nodes[i].name} ${p.fds} fds ${p.rssMB.toFixed(1)} MB${p.timers !== undefined ? ` ${p.timers} timers` : ''}`).join(' | '),
      );
      next += flags.every * 1000;
      await sleep(Math.max(0, Math.min(next, end) - Date.now()));
    }
    const seconds = (Date.now() - t0) / 1000;
    const counts1 = await Promise.all(nodes.map((n) => n.responders.stats()));
    const last = await Promise.all(nodes.map((n) => sample(n, seconds / 60)));
    for (const [i, p] of last.entries()) nodes[i].series.push(p);
    const vips = nodes.map((n, i) => vipCount(n.ns, i < 2 ? 1 : 2));
    const crashed = nodes.filter((n) => n.daemon.exited);
    for (const n of crashed) out(`${n.name} EXITED (code ${n.daemon.exitCode()}):\n${n.daemon.tail()}`);
    await Promise.all(nodes.map((n) => n.daemon.stop()));
    for (const n of nodes) n.responders.stop();

    out('');
    out('series: minute | fds (floor of 5 samples 1 s apart) / RSS MB per daemon; tskeepalived also active timers (most seen)');
    out(`${'min'.padStart(6)} | ${nodes.map((n) => n.name.padEnd(22)).join(' | ')}`);
    const rows = Math.max(...nodes.map((n) => n.series.length));
    for (let r = 0; r < rows; r++) {
      const t = nodes[0].series[r]?.t ?? 0;
      out(
        `${t.toFixed(1).padStart(6)} | ` +
          nodes
            .map((n) => {
              const p = n.series[r];
              return (p ? `${p.fds} / ${p.rssMB.toFixed(1)}${p.timers !== undefined ? ` / ${p.timers}` : ''}` : '').padEnd(22);
            })
            .join(' | '),
      );
    }
    out('(keepalived: parent + VRRP child + checker child summed)');
    out('');
    let ok = crashed.length === 0;
    for (const [i, n] of nodes.entries()) {
      const s = n.series;
      const late = s.slice(Math.floor(s.length / 3));
      const window = late.length > 1 ? late[late.length - 1].t - late[0].t : 0;
      const rssSlope = slope(
        late.map((p) => p.t),
        late.map((p) => p.rssMB),
      );
      const fdSlope = slope(
        late.map((p) => p.t),
        late.map((p) => p.fds),
      );
      const rssMed = median(late.map((p) => p.rssMB));
      // a trend: the fitted RSS growth over the window exceeds 5% of the RSS (and 2 MB). fds: each
      // sample's floor still counts the checks in flight (hundreds when the shared CPU is busy), so a
      // leak is a rise of the lowest floor: the last two-thirds never get back to the first third's
      const rssGrowth = rssSlope * window;
      const rssTrend = rssGrowth > Math.max(2, rssMed * 0.05);
      const early = s.slice(0, Math.max(1, Math.floor(s.length / 3)));
      const fdLow = { early: Math.min(...early.map((p) => p.fds)), late: Math.min(...late.map((p) => p.fds)) };
      const fdTrend = fdLow.late > fdLow.early + 5;
      let timerText = '';
      let timerTrend = false;
      if (n.ours) {
        // one timer per checker loop and VRRP timers, plus a deadline per check in flight (<= 256)
        const bound = flags['real-servers'] + 256 + 4 * flags.instances + 50;
        const most = Math.max(...late.map((p) => p.timers ?? 0));
        timerTrend = most > bound;
        timerText = `, timers at most ${most} (bound ${bound})`;
      }
      const httpRate = (counts1[i].requests - counts0[i].requests) / seconds;
      const tcpRate = (counts1[i].connections - counts0[i].connections - (counts1[i].requests - counts0[i].requests)) / seconds;
      out(
        `${n.name.padEnd(15)} last two-thirds (${window.toFixed(1)} min): RSS ${rssSlope >= 0 ? '+' : ''}${rssSlope.toFixed(3)} MB/min (median ${rssMed.toFixed(1)} MB), ` +
          `fds ${fdSlope >= 0 ? '+' : ''}${fdSlope.toFixed(2)}/min, lowest ${fdLow.early} in the first third, ${fdLow.late} after${timerText}: ${rssTrend || fdTrend || timerTrend ? 'GROWTH TREND' : 'no growth trend'}; ` +
          `checks answered ${(httpRate + tcpRate).toFixed(0)}/s (HTTP ${httpRate.toFixed(0)}, TCP ${tcpRate.toFixed(0)}); VIPs held ${vips[i]}`,
      );
      if (n.ours) ok &&= !rssTrend && !fdTrend && !timerTrend;
    }
    const vrrpOk = vips[0] === flags.instances && vips[1] === 0 && vips[2] === flags.instances && vips[3] === 0;
    out(`VRRP at the end: VIPs on a/b ${vips[0]}/${vips[1]}, on c/d ${vips[2]}/${vips[3]} (expected ${flags.instances}/0): ${vrrpOk ? 'yes' : 'NO'}`);
    out(`goal (tskeepalived): no crash, no RSS/fd/timer growth trend, VIPs where they belong: ${ok && vrrpOk ? 'yes' : 'NO'}`);
    process.exitCode = ok && vrrpOk ? 0 : 1;
  } finally {
    lab.cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`long-run: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
