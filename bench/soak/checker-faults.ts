// Soak: health checkers under faulty real servers (issue 10, part 4). Needs root, keepalived, nft, cc.
//   node dist/bench/soak/checker-faults.js [--minutes 10] [--servers 1000] [--per 4] [--rounds 3]
//        [--delay 2] [--ct 1] [--retry 1] [--dbr 1] [--slack-ms 300] [--sample 15]
//
// tskeepalived and keepalived 2.2.7 (-C, checkers only) check the same real servers (fault servers
// in a namespace, bench/soak/fault-servers.ts) in the same run.
//
// Phase 1, detection: for HTTP_GET and TCP_CHECK, `per` servers per fault (refused, SYNs dropped,
// accepted and hung, slow answer, status 500, wrong digest, reset mid-response) go faulty `rounds`
// times at a random point of their check cycle, and healthy again once both daemons saw them down.
// Each daemon's detection and recovery time is printed beside keepalived's bound for that fault:
//   detection <= delay_loop + retry * delay_before_retry + (retry + 1) * attempt
//   recovery  <= attempt + max(delay_loop, delay_before_retry) [+ delay_loop for HTTP_GET]
// where attempt = connect_timeout for faults that time out (dropped SYNs, hung, slow) and ~0 for
// faults that answer (refused, status, digest, reset); plus --slack-ms for scheduling. keepalived
// has no rise count (alpha only sets the initial state): TCP_CHECK restores on the first success,
// HTTP_GET on the full pass after the failed url succeeded (one delay_loop later);
// tskeepalived restores on the first success.
// TCP_CHECK on a server that accepts and hangs must stay up (the connection is the check).
//
// Phase 2, flapping: `servers` real servers (70% HTTP_GET, 30% TCP_CHECK, delay_loop 1) flap
// every second between healthy and one of the faults for `minutes`; each daemon's checker
// process is sampled every `sample` s (fds, RSS; tskeepalived also its active timers and sockets
// from /metrics). Then every server is healthy again: each daemon must see all of them up within
// the recovery bound (a checker stuck on a hung server would not).
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mode } from './fault-servers.js';
import {
  type CheckTiming,
  type Daemon,
  FaultServers,
  Lab,
  activeResources,
  checkersConf,
  median,
  parseFlags,
  procSample,
  removeStaleNamespaces,
  sleep,
  slope,
  startKeepalived,
  startOurs,
} from './checker-lab.js';

const flags = parseFlags(process.argv.slice(2), {
  minutes: 10,
  servers: 1000,
  per: 4,
  rounds: 3,
  delay: 2,
  ct: 1,
  retry: 1,
  dbr: 1,
  'slack-ms': 300,
  sample: 15,
});

const out = (s = '') => process.stdout.write(s + '\n');
const TIMED: ReadonlySet<Mode> = new Set(['blackhole', 'hang', 'slow']);
const HTTP_FAULTS: Mode[] = ['refuse', 'blackhole', 'hang', 'slow', 'status', 'digest', 'reset'];
/** TCP_CHECK: 'hang' (accepted, never answered) is healthy for a connect check */
const TCP_FAULTS: Mode[] = ['refuse', 'blackhole', 'hang'];
const tcpIsHealthy = (m: Mode) => m === 'hang';

/**
 * keepalived's bounds for a fault (ms). Recovery: a down checker keeps trying every
 * max(delay_loop, delay_before_retry); TCP_CHECK restores on the first success, HTTP_GET (its
 * epilog) first clears the failed url on a success and restores on the next full pass, one
 * delay_loop later. tskeepalived restores on the first success (within the same bound).
 */
function bounds(t: CheckTiming, check: 'HTTP_GET' | 'TCP_CHECK', mode: Mode, slackMs: number): { detect: number; recover: number } {
  const attempt = TIMED.has(mode) ? t.connectTimeout * 1000 : 0;
  const secondPass = check === 'HTTP_GET' ? t.delayLoop * 1000 : 0;
  return {
    detect: t.delayLoop * 1000 + t.retry * t.delayBeforeRetry * 1000 + (t.retry + 1) * attempt + slackMs,
    recover: attempt + Math.max(t.delayLoop, t.delayBeforeRetry) * 1000 + secondPass + slackMs,
  };
}

/** The first transition of `rs` to `up` at or after `since` (ms), waiting up to `timeoutMs`. */
async function transition(d: Daemon, rs: string, up: boolean, since: number, timeoutMs: number): Promise<number | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (let i = d.transitions.length - 1; i >= 0; i--) {
      const x = d.transitions[i];
      if (x.at < since - 5) break;
      if (x.rs === rs && x.up === up) {
        // the earliest such transition after `since`
        let first = x;
        for (let j = i - 1; j >= 0 && d.transitions[j].at >= since - 5; j--)
          if (d.transitions[j].rs === rs && d.transitions[j].up === up) first = d.transitions[j];
        return first.at - since;
      }
    }
    if (Date.now() > end || d.exited) return undefined;
    await sleep(20);
  }
}

interface Measure {
  check: string;
  mode: Mode;
  daemon: string;
  detect: (number | undefined)[];
  recover: (number | undefined)[];
  /** TCP hang: transitions to down seen (should be none) */
  falseDowns: number;
}

async function detectionPhase(lab: Lab, ns: string, servers: FaultServers, shim: string): Promise<{ measures: Measure[]; timing: CheckTiming; ok: boolean }> {
  const timing: CheckTiming = { delayLoop: flags.delay, connectTimeout: flags.ct, retry: flags.retry, delayBeforeRetry: flags.dbr };
  let port = 20000;
  const plan: { check: 'HTTP_GET' | 'TCP_CHECK'; mode: Mode; port: number }[] = [];
  // TKS_CKF_ONLY=mode[,mode]: only these faults (to look at one closely)
  const only = process.env.TKS_CKF_ONLY?.split(',');
  const wanted = (m: Mode) => !only || only.includes(m);
  for (const mode of HTTP_FAULTS.filter(wanted)) for (let i = 0; i < flags.per; i++) plan.push({ check: 'HTTP_GET', mode, port: port++ });
  port = 21000;
  for (const mode of TCP_FAULTS.filter(wanted)) for (let i = 0; i < flags.per; i++) plan.push({ check: 'TCP_CHECK', mode, port: port++ });
  await servers.listen(plan.map((p) => p.port));
  const conf = join(lab.dir, 'detect.conf');
  writeFileSync(
    conf,
    checkersConf('ckf-detect', [
      { vsPort: 18080, check: 'HTTP_GET', ports: plan.filter((p) => p.check === 'HTTP_GET').map((p) => p.port), timing },
      { vsPort: 18081, check: 'TCP_CHECK', ports: plan.filter((p) => p.check === 'TCP_CHECK').map((p) => p.port), timing },
    ]),
  );
  const daemons = [startOurs(lab, ns, 'ts-detect', conf, ['-C'], 19090), startKeepalived(lab, ns, 'ka-detect', conf, shim, ['-C'])];
  // warm-up: every checker has run at least twice
  await sleep((2 * timing.delayLoop + timing.connectTimeout) * 1000);
  for (const d of daemons) if (d.exited) throw new Error(`${d.name} exited during warm-up:\n${d.tail()}`);
  const downAtStart = daemons.map((d) => new Set(d.transitions.filter((t) => !t.up).map((t) => t.rs)));
  for (const [i, d] of daemons.entries()) if (downAtStart[i].size) out(`warning: ${d.name} saw ${downAtStart[i].size} healthy servers down during warm-up`);

  const measures = new Map<string, Measure>();
  const measureOf = (check: string, mode: Mode, daemon: string) => {
    const k = `${check}|${mode}|${daemon}`;
    let m = measures.get(k);
    if (!m) measures.set(k, (m = { check, mode, daemon, detect: [], recover: [], falseDowns: 0 }));
    return m;
  };
  out(
    `phase 1: detection, ${plan.length} real servers x ${flags.rounds} rounds (delay_loop ${timing.delayLoop} s, connect_timeout ${timing.connectTimeout} s, retry ${timing.retry}, delay_before_retry ${timing.delayBeforeRetry} s)`,
  );
  await Promise.all(
    plan.map(async (p) => {
      const rs = `127.0.0.1:${p.port}`;
      const b = bounds(timing, p.check, p.mode, flags['slack-ms']);
      const expectDown = !(p.check === 'TCP_CHECK' && tcpIsHealthy(p.mode));
      for (let round = 0; round < flags.rounds; round++) {
        await sleep(randomInt(0, timing.delayLoop * 1000));
        const at = await servers.mode([p.port], p.mode);
        const downs = await Promise.all(daemons.map((d) => transition(d, rs, false, at, (expectDown ? b.detect : b.detect) + 3000)));
        daemons.forEach((d, i) => {
          const m = measureOf(p.check, p.mode, d.name);
          if (expectDown) m.detect.push(downs[i]);
          else if (downs[i] !== undefined) m.falseDowns++;
        });
        const back = await servers.mode([p.port], 'ok');
        if (expectDown) {
          const ups = await Promise.all(daemons.map((d) => transition(d, rs, true, back, b.recover + 3000)));
          daemons.forEach((d, i) => {
            measureOf(p.check, p.mode, d.name).recover.push(ups[i]);
          });
        }
        await sleep(timing.delayLoop * 1000);
      }
    }),
  );
  for (const d of daemons) if (d.exited) out(`${d.name} EXITED (code ${d.exitCode()}):\n${d.tail()}`);
  const alive = daemons.every((d) => !d.exited);
  if (process.env.TKS_CKF_DEBUG) for (const d of daemons) out(`${d.name} transitions: ${JSON.stringify(d.transitions)}\n${d.tail()}`);
  await Promise.all(daemons.map((d) => d.stop()));

  out('');
  out(
    `detection and recovery, ms (p50 / max of ${flags.per} servers x ${flags.rounds} rounds; "-" = not seen within bound + 3 s); bounds include ${flags['slack-ms']} ms slack`,
  );
  out('check      fault      | bound det | tskeepalived det  rec      | keepalived det   rec      | bound rec | goal');
  let ok = alive;
  for (const check of ['HTTP_GET', 'TCP_CHECK'] as const) {
    for (const mode of check === 'HTTP_GET' ? HTTP_FAULTS : TCP_FAULTS) {
      const b = bounds(timing, check, mode, flags['slack-ms']);
      const cells: string[] = [];
      let met = true;
      for (const name of ['tskeepalived', 'keepalived']) {
        const m = measureOf(check, mode, name);
        if (check === 'TCP_CHECK' && tcpIsHealthy(mode)) {
          cells.push(`stays up: ${m.falseDowns === 0 ? 'yes' : `NO (${m.falseDowns} downs)`}`.padEnd(24));
          if (name === 'tskeepalived' && m.falseDowns > 0) met = false;
          continue;
        }
        const det = m.detect.filter((x): x is number => x !== undefined);
        const rec = m.recover.filter((x): x is number => x !== undefined);
        const missed = m.detect.length - det.length + m.recover.length - rec.length;
        const f = (xs: number[]) => (xs.length ? `${Math.round(median(xs))}/${Math.round(Math.max(...xs))}` : '-');
        cells.push(`${f(det).padStart(10)} ${f(rec).padStart(10)}${missed ? ` (${missed} missed)` : ''}`.padEnd(24));
        if (name === 'tskeepalived' && (missed > 0 || Math.max(...det) > b.detect || Math.max(...rec) > b.recover)) met = false;
      }
      ok &&= met;
      out(
        `${check.padEnd(10)} ${mode.padEnd(10)} | ${String(b.detect).padStart(9)} | ${cells[0]} | ${cells[1]} | ${String(b.recover).padStart(9)} | ${met ? 'met' : 'NOT MET'}`,
      );
    }
  }
  return { measures: [...measures.values()], timing, ok };
}

interface Sample {
  t: number;
  fds: number;
  rssKB: number;
  timers?: number;
  sockets?: number;
}

async function flapPhase(lab: Lab, ns: string, servers: FaultServers, shim: string): Promise<boolean> {
  const timing: CheckTiming = { delayLoop: 1, connectTimeout: 1, retry: 1, delayBeforeRetry: 1 };
  const nHttp = Math.round(flags.servers * 0.7);
  const httpPorts = Array.from({ length: nHttp }, (_, i) => 30000 + i);
  const tcpPorts = Array.from({ length: flags.servers - nHttp }, (_, i) => 40000 + i);
  await servers.listen([...httpPorts, ...tcpPorts]);
  const conf = join(lab.dir, 'flap.conf');
  writeFileSync(
    conf,
    checkersConf('ckf-flap', [
      { vsPort: 18180, check: 'HTTP_GET', ports: httpPorts, timing },
      { vsPort: 18181, check: 'TCP_CHECK', ports: tcpPorts, timing },
    ]),
  );
  const tcpFlapFaults: Mode[] = ['refuse', 'blackhole'];
  const ports = [...httpPorts, ...tcpPorts];
  const faults = [...httpPorts.map((_, i) => HTTP_FAULTS[i % HTTP_FAULTS.length]), ...tcpPorts.map((_, i) => tcpFlapFaults[i % 2])];
  const ours = startOurs(lab, ns, 'ts-flap', conf, ['-C'], 19091);
  const ka = startKeepalived(lab, ns, 'ka-flap', conf, shim, ['-C']);
  const daemons = [ours, ka];
  out('');
  out(
    `phase 2: ${flags.servers} real servers (${nHttp} HTTP_GET, ${tcpPorts.length} TCP_CHECK; delay_loop 1 s, connect_timeout 1 s, retry 1, delay_before_retry 1 s) flapping every second for ${flags.minutes} min`,
  );
  await sleep(15_000);
  for (const d of daemons) if (d.exited) throw new Error(`${d.name} exited during warm-up:\n${d.tail()}`);
  const series: Record<string, Sample[]> = { tskeepalived: [], keepalived: [] };
  let t0 = Date.now();
  const sampleNow = async (): Promise<Record<string, Sample>> => {
    const t = (Date.now() - t0) / 60000;
    const res = activeResources((await servers.get('http://127.0.0.1:19091/metrics').catch(() => ({ body: '' }))).body);
    const kpid = ka.checkerPid();
    return {
      tskeepalived: { t, ...procSample(ours.pids()), timers: res.Timeout ?? 0, sockets: (res.TCPSocketWrap ?? 0) + (res.TCPWRAP ?? 0) },
      keepalived: { t, ...procSample(kpid ? [kpid] : []) },
    };
  };
  // a floor: the fewest fds over `n` samples a second apart (checks in flight come and go)
  const floorOf = async (n: number): Promise<Record<string, Sample>> => {
    let best: Record<string, Sample> | undefined;
    for (let i = 0; i < n; i++) {
      const x = await sampleNow();
      if (!best) best = x;
      // timers: the most seen (a loop waiting for a slot of the in-flight limiter has no timer)
      else
        for (const k of Object.keys(x))
          best[k] = {
            ...best[k],
            fds: Math.min(best[k].fds, x[k].fds),
            timers: Math.max(best[k].timers ?? 0, x[k].timers ?? 0),
            sockets: Math.min(best[k].sockets ?? 0, x[k].sockets ?? 0),
            rssKB: x[k].rssKB,
          };
      await sleep(1000);
    }
    return best!;
  };
  const beforeFloor = await floorOf(5);
  const before = daemons.map((d) => d.transitions.length);
  t0 = Date.now();
  await servers.flap(ports, faults, 1000);
  const end = t0 + flags.minutes * 60_000;
  while (Date.now() < end && daemons.every((d) => !d.exited)) {
    await sleep(Math.min(flags.sample * 1000, Math.max(0, end - Date.now())));
    const x = await sampleNow();
    for (const k of Object.keys(x)) series[k].push(x[k]);
  }
  await servers.flap([], [], 0);
  const flapped = daemons.map((d, i) => d.transitions.length - before[i]);
  const healthyAt = await servers.mode(ports, 'ok');
  // recovery after the storm: each daemon's last view of every server must be "up" (the worst
  // fault and check type: a hung attempt in progress, then keepalived's HTTP_GET two passes)
  const recoverBound = bounds(timing, 'HTTP_GET', 'hang', flags['slack-ms']).recover;
  const allUp = async (d: Daemon): Promise<{ ms?: number; stuck: string[] }> => {
    const deadline = healthyAt + recoverBound + 10_000;
    for (;;) {
      const last = new Map<string, boolean>();
      let lastAt = healthyAt;
      for (const x of d.transitions) {
        last.set(x.rs, x.up);
        if (x.up && x.at >= healthyAt) lastAt = Math.max(lastAt, x.at);
      }
      const stuck = [...last].filter(([, up]) => !up).map(([rs]) => rs);
      if (stuck.length === 0) return { ms: Math.round(lastAt - healthyAt), stuck };
      if (Date.now() > deadline || d.exited) return { stuck };
      await sleep(50);
    }
  };
  const recovered = await Promise.all(daemons.map(allUp));
  await sleep(3000);
  const afterFloor = await floorOf(10);
  const held = await servers.stats();
  for (const d of daemons) if (d.exited) out(`${d.name} EXITED (code ${d.exitCode()}):\n${d.tail()}`);
  const alive = daemons.every((d) => !d.exited);
  await Promise.all(daemons.map((d) => d.stop()));

  out('');
  out('series (minutes since the flapping started): fds / RSS MB [/ active timers / TCP sockets]');
  out('   min | tskeepalived                    | keepalived (checker process)');
  const row = (label: string, a: Sample | undefined, k: Sample | undefined) => {
    const fa = a ? `${a.fds} / ${(a.rssKB / 1024).toFixed(1)} / ${a.timers} / ${a.sockets}` : '';
    const fk = k ? `${k.fds} / ${(k.rssKB / 1024).toFixed(1)}` : '';
    out(`${label.padStart(6)} | ${fa.padEnd(31)} | ${fk}`);
  };
  row('before', beforeFloor.tskeepalived, beforeFloor.keepalived);
  for (let i = 0; i < series.tskeepalived.length; i++) row(series.tskeepalived[i].t.toFixed(2), series.tskeepalived[i], series.keepalived[i]);
  row('after', afterFloor.tskeepalived, afterFloor.keepalived);
  out('(before / after: healthy servers, 5 / 10 samples 1 s apart: fewest fds and sockets, most timers, last RSS)');
  const verdict = (xs: Sample[]) => {
    const third = Math.max(1, Math.floor(xs.length / 3));
    const first = xs.slice(0, third);
    const last = xs.slice(-third);
    const min = (f: (s: Sample) => number, ys: Sample[]) => Math.min(...ys.map(f));
    const max = (f: (s: Sample) => number, ys: Sample[]) => Math.max(...ys.map(f));
    const med = (f: (s: Sample) => number, ys: Sample[]) => median(ys.map(f));
    const late = xs.slice(Math.floor(xs.length / 3));
    return {
      rssGrowth: med((s) => s.rssKB, last) / med((s) => s.rssKB, first) - 1,
      fdFirst: min((s) => s.fds, first),
      fdLast: min((s) => s.fds, last),
      lateSlope: slope(
        late.map((s) => s.t),
        late.map((s) => s.rssKB / 1024),
      ),
      timers:
        xs[0]?.timers !== undefined
          ? { first: max((s) => s.timers ?? 0, first), last: max((s) => s.timers ?? 0, last), all: max((s) => s.timers ?? 0, xs) }
          : undefined,
    };
  };
  out('');
  out(`flap transitions seen: tskeepalived ${flapped[0]}, keepalived ${flapped[1]} (fault server flips ${held.flips})`);
  let ok = alive;
  for (const [i, d] of daemons.entries()) {
    const v = verdict(series[d.name]);
    const b = beforeFloor[d.name];
    const a = afterFloor[d.name];
    const r = recovered[i];
    // while flapping the count is the checks in flight (hundreds, swinging): a leak is judged on the
    // healthy floors before and after the storm, as in test/checkers-leak.test.ts
    const fdOk = a.fds <= b.fds + 5;
    const rssOk = v.rssGrowth <= 0.1;
    // at most one timer per checker loop plus one deadline per check in flight (the limiter's 256)
    const timerBound = flags.servers + 256 + 20;
    const timersOk = !v.timers || (v.timers.last <= v.timers.first * 1.1 + 20 && v.timers.all <= timerBound && (a.timers ?? 0) <= timerBound);
    // no checker stuck: every server back within the bound plus 10 s (the bound holds per check; under
    // the storm's load both daemons' loops run late, see the figures)
    const recOk = r.ms !== undefined;
    out(
      `${d.name.padEnd(12)} fds while flapping (floors of the first / last third) ${v.fdFirst} / ${v.fdLast}; healthy before ${b.fds}, after ${a.fds}: ${fdOk ? 'no leak' : 'LEAK'}; ` +
        `RSS median last/first third ${v.rssGrowth >= 0 ? '+' : ''}${(v.rssGrowth * 100).toFixed(1)}% (goal <= 10%), slope of the last two-thirds ${v.lateSlope.toFixed(2)} MB/min` +
        (v.timers
          ? `; active timers most seen first third ${v.timers.first}, last third ${v.timers.last}, healthy before ${b.timers}, after ${a.timers} (bound ${timerBound}): ${timersOk ? 'stable' : 'GROWING'}`
          : '') +
        `; all ${flags.servers} up ${r.ms !== undefined ? `${r.ms} ms` : `NOT within ${recoverBound + 10000} ms (${r.stuck.length} stuck, e.g. ${r.stuck.slice(0, 3).join(' ')})`} after the servers healed (bound ${recoverBound} ms)`,
    );
    if (d.name === 'tskeepalived') ok &&= fdOk && rssOk && timersOk && recOk;
  }
  out(
    `connections the servers still hold after the storm (checks in flight of both daemons; a checker leaving connections open would show here): ${held.held}`,
  );
  return ok;
}

async function main(): Promise<void> {
  removeStaleNamespaces(['ckf']);
  const lab = new Lab('ckf');
  try {
    const ns = lab.namespace('srv');
    const shim = lab.buildShim();
    const servers = FaultServers.start(lab, ns, { TKS_SLOW_MS: String(flags.ct * 2500) });
    await servers.ready;
    out(
      `checker-faults soak: namespace ${ns}; tskeepalived (--lb-backend=userspace) and keepalived 2.2.7 (-C, IPVS socket options answered by the shim) check the same servers`,
    );
    const det = await detectionPhase(lab, ns, servers, shim);
    const flapOk = flags.minutes > 0 ? await flapPhase(lab, ns, servers, shim) : true;
    servers.stop();
    out('');
    out(
      `goal (tskeepalived): every fault detected and recovered within keepalived's bound: ${det.ok ? 'yes' : 'NO'}; after ${flags.minutes} min of flapping no fd/timer leak, RSS within 10%, no checker stuck (every server back up): ${flapOk ? 'yes' : 'NO'}`,
    );
    process.exitCode = det.ok && flapOk ? 0 : 1;
  } finally {
    lab.cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`checker-faults: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
