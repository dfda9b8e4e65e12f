// BFD detection benchmark (needs root and keepalived 2.2.7). Build first, then run:
//   node dist/bench/bfd-detect.js [--rounds 20] [--interval 50] [--mult 3]
// tskeepalived (namespace a) and keepalived's BFD process (namespace b) run one session; each round
// stalls one side (SIGSTOP) at a random phase and reads, on the other side, how long it went without
// a packet when it declared the session Down (the detection as BFD defines it: bfd.DetectMult x the
// agreed interval, here mult x interval), and for ours also the time from the stall to the expiry.
// Then the same with two keepalived processes, the reference in this run. Prints both sides' figures
// and the ratio of ours to keepalived's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lan, type Node, sleep, startInNamespace, waitFor } from '../test/vrrp-helpers.js';
import { pct } from './watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const ROUNDS = arg('rounds', 20);
const INTERVAL = arg('interval', 50);
const MULT = arg('mult', 3);
const DETECT = INTERVAL * MULT;

const bfdConf = (name: string, neighbor: string) =>
  `bfd_instance ${name} {\n    neighbor_ip ${neighbor}\n    min_rx ${INTERVAL}\n    min_tx ${INTERVAL}\n    multiplier ${MULT}\n}\n`;

function startKa(lan: Lan, ns: number, tag: string, conf: string): { node: Node; bfdPid: () => number } {
  const d = lan.dir;
  const path = lan.writeText(`${tag}.conf`, conf);
  const pids = ['-p', join(d, `${tag}.pid`), '-r', join(d, `${tag}-v.pid`), '-c', join(d, `${tag}-c.pid`), '-b', join(d, `${tag}-b.pid`)];
  const node = startInNamespace(lan, ns, ['keepalived', '-n', '-l', '-D', '-G', '-f', path, ...pids]);
  return { node, bfdPid: () => Number(readFileSync(join(d, `${tag}-b.pid`), 'utf8').trim()) };
}

function startTs(lan: Lan, ns: number, tag: string, conf: string): Node {
  const d = lan.dir;
  const path = lan.writeText(`${tag}.conf`, conf);
  return startInNamespace(lan, ns, [process.execPath, 'bin/tskeepalived', '-n', '-G', '-f', path, '-p', join(d, `${tag}.pid`), '-r', join(d, `${tag}-v.pid`)]);
}

/** keepalived: "(NAME) Expired after N ms (U usec overdue)" -> N + the sub-ms part from the overdue figure */
function kaExpiries(n: Node, name: string): number[] {
  const out: number[] = [];
  for (const l of n.lines) {
    const m = new RegExp(`\\(${name}\\) Expired after (\\d+) ms \\((\\d+) usec overdue\\)`).exec(l);
    if (m) out.push(DETECT + Number(m[2]) / 1000);
  }
  return out;
}
const kaUps = (n: Node, name: string) => n.lines.filter((l) => l.includes(`(${name}) Entering Up state`)).length;

function tsRecords(n: Node): { time: number; msg: string; silentMs?: number }[] {
  const out: { time: number; msg: string; silentMs?: number }[] = [];
  for (const l of n.lines)
    if (l.startsWith('{'))
      try {
        out.push(JSON.parse(l));
      } catch {
        /* partial */
      }
  return out;
}
const tsExpiries = (n: Node) => tsRecords(n).filter((r) => typeof r.msg === 'string' && r.msg.includes(') Expired after'));
const tsUps = (n: Node) => tsRecords(n).filter((r) => typeof r.msg === 'string' && r.msg.endsWith(') Entering Up state')).length;

interface Side {
  silent: number[];
  afterStop: number[];
}

async function stallRounds(label: string, stall: () => number, detected: () => number, figure: () => number | undefined, upAgain: () => boolean, res: Side) {
  for (let r = 0; r < ROUNDS; r++) {
    await sleep(200 + Math.random() * INTERVAL);
    const before = detected();
    const pid = stall();
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`${label}: expiry`, () => detected() > before, DETECT * 10 + 2000, 2);
      res.afterStop.push(Date.now() - t0);
    } finally {
      await sleep(DETECT);
      process.kill(pid, 'SIGCONT');
    }
    const f = figure();
    if (f !== undefined) res.silent.push(f);
    await waitFor(`${label}: Up again`, upAgain, 20_000, 10);
  }
}

function line(label: string, v: number[]): string {
  return `${label.padEnd(46)} p50 ${pct(v, 50).toFixed(1).padStart(7)}  p95 ${pct(v, 95).toFixed(1).padStart(7)}  max ${Math.max(...v)
    .toFixed(1)
    .padStart(7)} ms`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const lan = new Lan(`bb${process.pid}`, 3, '10.84.0', 'fd84');
  const ours: Side = { silent: [], afterStop: [] };
  const kaVsTs: Side = { silent: [], afterStop: [] };
  const kaVsKa: Side = { silent: [], afterStop: [] };
  try {
    // ---- tskeepalived (a) <-> keepalived (b)
    const ts = startTs(lan, 0, 'ts', bfdConf('s1', lan.addr4(1)));
    const ka = startKa(lan, 1, 'ka', bfdConf('s1', lan.addr4(0)));
    await waitFor('ts <-> keepalived Up', () => tsUps(ts) >= 1 && kaUps(ka.node, 's1') >= 1, 20_000, 20);
    await sleep(1000);
    let ups = () => tsUps(ts) > ours.silent.length + kaVsTs.silent.length && kaUps(ka.node, 's1') > ours.silent.length + kaVsTs.silent.length;
    await stallRounds(
      'keepalived stalled, tskeepalived detects',
      () => ka.bfdPid(),
      () => tsExpiries(ts).length,
      () => tsExpiries(ts).at(-1)?.silentMs,
      () => ups(),
      ours,
    );
    await stallRounds(
      'tskeepalived stalled, keepalived detects',
      () => ts.pid,
      () => kaExpiries(ka.node, 's1').length,
      () => kaExpiries(ka.node, 's1').at(-1),
      () => ups(),
      kaVsTs,
    );
    ts.proc.kill('SIGTERM');
    ka.node.proc.kill('SIGTERM');
    await Promise.race([Promise.all([ts.exited, ka.node.exited]), sleep(5000)]);

    // ---- keepalived (a) <-> keepalived (c): the reference
    const k1 = startKa(lan, 0, 'k1', bfdConf('s2', lan.addr4(2)));
    const k2 = startKa(lan, 2, 'k2', bfdConf('s2', lan.addr4(0)));
    await waitFor('keepalived <-> keepalived Up', () => kaUps(k1.node, 's2') >= 1 && kaUps(k2.node, 's2') >= 1, 20_000, 20);
    await sleep(1000);
    ups = () => kaUps(k1.node, 's2') > kaVsKa.silent.length && kaUps(k2.node, 's2') > kaVsKa.silent.length;
    await stallRounds(
      'keepalived stalled, keepalived detects',
      () => k2.bfdPid(),
      () => kaExpiries(k1.node, 's2').length,
      () => kaExpiries(k1.node, 's2').at(-1),
      () => ups(),
      kaVsKa,
    );
  } finally {
    lan.cleanup();
  }
  console.log(`BFD detection, ${ROUNDS} stalls each, min_rx = min_tx = ${INTERVAL} ms, multiplier ${MULT}: detection time ${DETECT} ms`);
  console.log('time without a packet when the session was declared Down (RFC 5880 detection):');
  console.log(line('  tskeepalived, peer keepalived stalled', ours.silent));
  console.log(line('  keepalived, peer tskeepalived stalled', kaVsTs.silent));
  console.log(line('  keepalived, peer keepalived stalled (reference)', kaVsKa.silent));
  console.log('time from SIGSTOP to the Down (phase-dependent: detection - 0..1 interval):');
  console.log(line('  tskeepalived', ours.afterStop));
  console.log(`ratio tskeepalived / keepalived (reference), p50 of detection: ${(pct(ours.silent, 50) / pct(kaVsKa.silent, 50)).toFixed(3)}`);
  console.log(`ratio tskeepalived / keepalived (reference), max of detection: ${(Math.max(...ours.silent) / Math.max(...kaVsKa.silent)).toFixed(3)}`);
  const within = ours.silent.every((v) => v >= DETECT - INTERVAL && v <= DETECT + INTERVAL);
  console.log(`every tskeepalived detection within ${DETECT} +- ${INTERVAL} ms: ${within ? 'yes' : 'NO'}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
