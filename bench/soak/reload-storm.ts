// Reload storm (issue 10, part 2). Needs root, keepalived 2.2.7 and tcpdump. Build first, then:
//   node dist/bench/soak/reload-storm.js [--sighups 100] [--interval-ms 400] [--seed 1] [--only tskeepalived|keepalived] [--lb userspace|nftables]
//     [--trace-gc: tskeepalived's master runs with node --trace-gc, its heap after each full GC is reported] [--verbose]
// A master (priority 200) with VI_1 (track_script, track_interface), a sync group G1 {VI_2, VI_3}
// and a virtual server on VI_1's VIP (userspace LB, or nftables NAT with --lb nftables; three real servers), a peer (priority 100) with
// the same instances, and a client sending a request to the VIP every 10 ms. The master gets N
// SIGHUPs: half with an unchanged file, a quarter adding/removing an instance (VI_4), a sync-group
// member (VI_5) or a real server, a quarter with an invalid file (unbalanced braces, truncated in
// a block, binary garbage, a non-existent interface). Watched: transitions of the unchanged instances
// on both nodes (notify fifos), the unchanged VIPs every 20 ms, their deletions (ip monitor) and
// GARPs (tcpdump on the peer; garp_master_delay 0, so any is a reload's), requests lost, healthy
// real servers dropped (the JSON dump after every reload), the config kept after each invalid file.
// keepalived 2.2.7 runs the same storm on the VRRP side (it has no userspace/nftables LB); its
// invalid files are probed one by one after its storm, since keepalived stops on some of them.
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitFor, type Lan } from '../../test/vrrp-helpers.js';
import { addrMonitor, pct, tcpdump } from '../watch.js';
import { goodConf, HEALTHY_REAL_SERVERS, INVALID_KINDS, invalidConf, TOGGLES, UNCHANGED, type InvalidKind, type StormShape } from './reload-storm-conf.js';
import {
  buildLab,
  CLIENT_ROUTED_SOURCE,
  fifoLines,
  PacedClient,
  ROLE,
  routeThroughMaster,
  rssKb,
  startDaemon,
  startRealServers,
  SUBNET,
  VipSampler,
  type ClientSummary,
  type Daemon,
  type Engine,
} from './reload-storm-lab.js';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} wants a non-negative number`);
  return v;
}
const SIGHUPS = Math.floor(flag('sighups', 100));
const INTERVAL_MS = flag('interval-ms', 400);
const SEED = flag('seed', 1);
const ONLY = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] as Engine) : undefined;
const VERBOSE = process.argv.includes('--verbose');
const TRACE_GC = process.argv.includes('--trace-gc');
const LB = (process.argv.includes('--lb') ? process.argv[process.argv.indexOf('--lb') + 1] : 'userspace') as 'userspace' | 'nftables';
if (LB !== 'userspace' && LB !== 'nftables') throw new Error('--lb wants userspace or nftables');
const REQUEST_EVERY_MS = 10;
const SAMPLE_EVERY_MS = 20;
/** the whole run, whatever happens (then cleanup and exit 2) */
const BUDGET_MS = 120_000 + 2 * SIGHUPS * (INTERVAL_MS + 1500);

type Step = { kind: 'unchanged' } | { kind: 'change'; toggle: keyof StormShape } | { kind: 'invalid'; invalid: InvalidKind };

/** Half unchanged, a quarter changes (rotating over the toggles), a quarter invalid (rotating kinds), shuffled by seed. */
function plan(n: number, seed: number): Step[] {
  const changes = Math.floor(n / 4);
  const invalid = Math.floor(n / 4);
  const steps: Step[] = [];
  for (let i = 0; i < changes; i++) steps.push({ kind: 'change', toggle: TOGGLES[i % TOGGLES.length] });
  for (let i = 0; i < invalid; i++) steps.push({ kind: 'invalid', invalid: INVALID_KINDS[i % INVALID_KINDS.length] });
  while (steps.length < n) steps.push({ kind: 'unchanged' });
  let s = seed >>> 0 || 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = steps.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [steps[i], steps[j]] = [steps[j], steps[i]];
  }
  return steps;
}

interface InvalidOutcome {
  kind: InvalidKind;
  /** tskeepalived: refused and still running with the last good config; keepalived: what it did */
  kept: boolean;
  detail: string;
}

interface StormResult {
  engine: Engine;
  sighups: number;
  applied: number;
  refused: number;
  unchangedTransitions: { master: string[]; peer: string[] };
  samples: number;
  vipAbsent: number;
  peerHeld: number;
  vipDeleted: number;
  garps: number;
  client?: ClientSummary;
  healthyDropped: string[];
  invalid: InvalidOutcome[];
  reloadMs: number[];
  /** the master's RSS (kB) before the storm, after each quarter of it, and after it */
  rss: (number | undefined)[];
  vipsLeftAfterStop: number;
  crashed: string[];
  /** --trace-gc: the master's heap after each full GC (MB) */
  heapAfterGc: number[];
}

const unchangedVips = UNCHANGED.map((u) => `${SUBNET}.${u.vip}`);
const isUnchangedLine = (l: string) => /^(INSTANCE "(VI_1|VI_2|VI_3)"|GROUP "G1")/.test(l);

function count(lines: string[], re: RegExp): number {
  return lines.filter((l) => re.test(l)).length;
}

/** tskeepalived: instance names and real servers (alive, weight) from its JSON dump. */
function readDump(d: Daemon): { instances: string[]; reals: { rs: string; alive: boolean; weight: number }[] } | undefined {
  try {
    const j = JSON.parse(readFileSync(d.jsonDump!, 'utf8')) as {
      vrrp?: { instances: { name: string }[] };
      checkers?: { virtualServers: { realServers: { realServer: string; alive: boolean; weight: number }[] }[] };
    };
    return {
      instances: (j.vrrp?.instances ?? []).map((i) => i.name).sort(),
      reals: (j.checkers?.virtualServers ?? []).flatMap((v) => v.realServers.map((r) => ({ rs: r.realServer, alive: r.alive, weight: r.weight }))),
    };
  } catch {
    return undefined;
  }
}

function expectedInstances(shape: StormShape): string[] {
  return [...UNCHANGED.map((u) => u.name), ...(shape.vi4 ? ['VI_4'] : []), ...(shape.vi5 ? ['VI_5'] : [])].sort();
}

function alive(d: Daemon): boolean {
  return d.node.proc.exitCode === null && d.node.proc.signalCode === null;
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (!alive(d)) return;
  d.node.proc.kill('SIGTERM');
  const t = setTimeout(() => d.node.proc.kill('SIGKILL'), 8000);
  await d.node.exited;
  clearTimeout(t);
}

async function runStorm(lan: Lan, engine: Engine, steps: Step[]): Promise<StormResult> {
  const tag = engine === 'tskeepalived' ? 'ts' : 'ka';
  const withLb = engine === 'tskeepalived';
  const fifoA = join(lan.dir, `${tag}-a.fifo.out`);
  const fifoB = join(lan.dir, `${tag}-b.fifo.out`);
  const confA = join(lan.dir, `${tag}-a.conf`);
  const confB = join(lan.dir, `${tag}-b.conf`);
  const optsA = { subnet: SUBNET, routerId: `${tag}-a`, priority: 200, fifoOut: fifoA, lb: withLb };
  let shape: StormShape = { vi4: false, vi5: false, rs3: false };
  writeFileSync(confA, goodConf(optsA, shape));
  writeFileSync(confB, goodConf({ subnet: SUBNET, routerId: `${tag}-b`, priority: 100, fifoOut: fifoB, lb: false }, shape));
  const crashed: string[] = [];
  const a = startDaemon(lan, engine, ROLE.master, confA, `${tag}-a`, fifoA, withLb ? LB : undefined, TRACE_GC ? ['--trace-gc'] : []);
  const holds = (ns: number) => unchangedVips.every((v) => lan.hasAddress(ns, v));
  await waitFor(`${engine} master holding the unchanged VIPs`, () => holds(ROLE.master), 15_000);
  const b = startDaemon(lan, engine, ROLE.peer, confB, `${tag}-b`, fifoB, undefined);
  await waitFor(`${engine} peer BACKUP`, () => fifoLines(b).some((l) => l.startsWith('INSTANCE "VI_3" BACKUP')), 15_000);
  // an added instance needs a master-down interval (3 s) to hold its VIP: not a figure here
  let client: PacedClient | undefined;
  if (withLb) {
    // the proxy binds the VIP on its next retry (1 s) after the VIP arrived; nftables needs no VIP
    await waitFor(`the ${LB} LB in place`, () => a.node.has(LB === 'userspace' ? /listener up/ : /LB state applied/), 15_000);
    client = new PacedClient(lan, ROLE.client, {
      host: `${SUBNET}.100`,
      port: 80,
      periodMs: REQUEST_EVERY_MS,
      timeoutMs: 1000,
      maxMs: BUDGET_MS,
      ...(LB === 'nftables' ? { localAddress: CLIENT_ROUTED_SOURCE } : {}),
    });
  }
  await sleep(2000);
  const arps = tcpdump(lan.namespaces[ROLE.peer], 'arp');
  const mon = addrMonitor(lan.namespaces[ROLE.master]);
  const sampler = new VipSampler(lan.namespaces[ROLE.master], lan.namespaces[ROLE.peer], unchangedVips, SAMPLE_EVERY_MS);
  await sleep(500); // tcpdump and ip monitor running
  const a0 = fifoLines(a).length;
  const b0 = fifoLines(b).length;
  const rss = [rssKb(a.vrrpPid())];
  const quarter = Math.max(1, Math.ceil(steps.length / 4));
  sampler.start();

  const outcomeCount = () => count(a.node.lines, /configuration reloaded|reload refused/);
  const reloadMs: number[] = [];
  const invalid: InvalidOutcome[] = [];
  const healthyDropped: string[] = [];
  let sent = 0;
  let applied = 0;
  let refused = 0;
  for (const [i, step] of steps.entries()) {
    const t0 = Date.now();
    if (step.kind === 'invalid' && engine === 'keepalived') continue; // probed apart below
    if (!alive(a)) {
      crashed.push(`master exited before SIGHUP ${i + 1}`);
      break;
    }
    if (step.kind === 'change') shape = { ...shape, [step.toggle]: !shape[step.toggle] };
    const good = goodConf(optsA, shape);
    writeFileSync(confA, step.kind === 'invalid' ? invalidConf(good, step.invalid) : good);
    const before = outcomeCount();
    if (VERBOSE)
      console.error(
        `${new Date().toISOString()} SIGHUP ${i + 1}: ${step.kind === 'change' ? `toggle ${step.toggle}` : step.kind === 'invalid' ? `invalid ${step.invalid}` : 'unchanged'}`,
      );
    a.node.proc.kill('SIGHUP');
    sent++;
    if (engine === 'tskeepalived') {
      const took = await waitFor(`outcome of SIGHUP ${i + 1}`, () => outcomeCount() > before || !alive(a), 10_000, 5).catch(() => undefined);
      if (took !== undefined) reloadMs.push(took);
      const refusedNow =
        a.node.lines
          .filter((l) => /configuration reloaded|reload refused/.test(l))
          .at(-1)
          ?.includes('reload refused') ?? false;
      if (refusedNow) refused++;
      else applied++;
      const dump = readDump(a);
      const instancesOk = JSON.stringify(dump?.instances) === JSON.stringify(expectedInstances(shape));
      for (const octet of HEALTHY_REAL_SERVERS) {
        const r = dump?.reals.find((x) => x.rs.startsWith(`[${SUBNET}.${octet}]:`));
        if (!r?.alive || r.weight <= 0)
          healthyDropped.push(`after SIGHUP ${i + 1} (${step.kind}): ${SUBNET}.${octet} ${r ? `alive=${r.alive} weight=${r.weight}` : 'absent'}`);
      }
      if (step.kind === 'invalid') {
        const kept = alive(a) && refusedNow && instancesOk;
        invalid.push({
          kind: step.invalid,
          kept,
          detail: !alive(a)
            ? 'exited'
            : !refusedNow
              ? 'applied'
              : instancesOk
                ? 'refused, last good config kept'
                : `refused but running ${dump?.instances.join(',')}`,
        });
        writeFileSync(confA, good); // the operator fixes the file; the next SIGHUP reads it
      }
    }
    const rest = INTERVAL_MS - (Date.now() - t0);
    if (rest > 0) await sleep(rest);
    if ((i + 1) % quarter === 0 && i + 1 < steps.length) rss.push(rssKb(a.vrrpPid()));
  }
  await sleep(3000);
  sampler.stop();
  const summary = await client?.stop();
  rss.push(rssKb(a.vrrpPid()));
  arps.stop();
  mon.stop();
  if (engine === 'keepalived') applied = sent;
  const master = fifoLines(a).slice(a0).filter(isUnchangedLine);
  const peer = fifoLines(b).slice(b0).filter(isUnchangedLine);
  const vipDeleted = mon.lines.filter((l) => l.includes('Deleted') && unchangedVips.some((v) => l.includes(` ${v}/`))).length;
  const garps = arps.lines.filter((l) => unchangedVips.some((v) => l.includes(`who-has ${v} tell ${v}`) || l.includes(`Reply ${v} is-at`))).length;

  // keepalived: each invalid file once, alone, from a running master with the good file
  const last = engine === 'keepalived' ? await probeKeepalivedInvalid(lan, a, confA, optsA, shape, invalid, crashed) : a;
  if (!alive(last)) crashed.push('master not running at the end');
  if (!alive(b)) crashed.push('peer not running at the end');
  await stopDaemon(b);
  await stopDaemon(last);
  const vipsLeftAfterStop = unchangedVips.filter((v) => lan.hasAddress(ROLE.master, v)).length;
  if (withLb && LB === 'nftables') {
    const tables = spawnSync('ip', ['netns', 'exec', lan.namespaces[ROLE.master], 'nft', 'list', 'tables'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
    if (/tskeepalived/.test(tables)) crashed.push('the nftables table was left after SIGTERM');
  }
  return {
    engine,
    sighups: sent,
    applied,
    refused,
    unchangedTransitions: { master, peer },
    samples: sampler.samples,
    vipAbsent: sampler.totalAbsent,
    peerHeld: sampler.totalHeldElsewhere,
    vipDeleted,
    garps,
    client: summary,
    healthyDropped,
    invalid,
    reloadMs,
    rss,
    heapAfterGc: a.node.lines.flatMap((l) => {
      const m = /Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(l);
      return m ? [Number(m[1])] : [];
    }),
    vipsLeftAfterStop,
    crashed,
  };
}

/** keepalived: each invalid file once, from a running master with the good file; returns the master running at the end. */
async function probeKeepalivedInvalid(
  lan: Lan,
  a: Daemon,
  confA: string,
  optsA: Parameters<typeof goodConf>[0],
  shape: StormShape,
  out: InvalidOutcome[],
  crashed: string[],
): Promise<Daemon> {
  const good = goodConf(optsA, shape);
  let master = a;
  for (const kind of INVALID_KINDS) {
    if (!alive(master)) break;
    writeFileSync(confA, invalidConf(good, kind));
    const pid = master.vrrpPid();
    master.node.proc.kill('SIGHUP');
    await sleep(3000);
    const held = unchangedVips.filter((v) => lan.hasAddress(ROLE.master, v)).length;
    const vrrpAlive = pid !== undefined && rssKb(pid) !== undefined;
    const left = keepalivedIn(lan.namespaces[ROLE.master]);
    const detail = !alive(master)
      ? `exited (code ${master.node.proc.exitCode ?? master.node.proc.signalCode}), ${left ? `${left} keepalived process(es) still in the namespace` : 'no keepalived process left'}, ${held} of ${unchangedVips.length} unchanged VIPs left on the master`
      : `running${vrrpAlive ? '' : ', VRRP process gone'}, ${held} of ${unchangedVips.length} unchanged VIPs held`;
    out.push({ kind, kept: alive(master) && vrrpAlive && held === unchangedVips.length, detail });
    writeFileSync(confA, good);
    if (alive(master)) {
      master.node.proc.kill('SIGHUP');
      await sleep(4000);
    } else {
      crashed.push(`exited on the ${kind} file`);
      // started again for the next probe
      master = startDaemon(lan, 'keepalived', ROLE.master, confA, `ka-a${out.length}`, optsA.fifoOut, undefined);
      await waitFor('keepalived master back', () => unchangedVips.every((v) => lan.hasAddress(ROLE.master, v)), 20_000).catch(() => undefined);
    }
  }
  return master;
}

/** keepalived processes running in a namespace (ip netns pids, then their names) */
function keepalivedIn(ns: string): number {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout?.split('\n').filter(Boolean) ?? [];
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'keepalived';
    } catch {
      return false;
    }
  }).length;
}

function figures(results: StormResult[], steps: Step[]): string {
  const ts = results.find((r) => r.engine === 'tskeepalived');
  const ka = results.find((r) => r.engine === 'keepalived');
  const n = (k: Step['kind']) => steps.filter((s) => s.kind === k).length;
  const col = (f: (r: StormResult) => string) => [ts ? f(ts) : '-', ka ? f(ka) : '-'];
  const rows: [string, string, string][] = [];
  const row = (label: string, f: (r: StormResult) => string) => rows.push([label, ...col(f)] as [string, string, string]);
  row('SIGHUPs sent', (r) => `${r.sighups}`);
  row('reloads applied / refused', (r) => (r.engine === 'tskeepalived' ? `${r.applied} / ${r.refused}` : `${r.applied} / (invalid files probed apart)`));
  row('transitions, unchanged instances, master', (r) => `${r.unchangedTransitions.master.length}`);
  row('transitions, unchanged instances, peer', (r) => `${r.unchangedTransitions.peer.length}`);
  row(`unchanged VIPs absent (samples x VIPs)`, (r) => `${r.vipAbsent} of ${r.samples * unchangedVips.length}`);
  row('unchanged VIPs held by the peer (samples)', (r) => `${r.peerHeld}`);
  row('unchanged VIPs deleted (ip monitor)', (r) => `${r.vipDeleted}`);
  row('GARPs for unchanged VIPs during the storm', (r) => `${r.garps}`);
  row(`requests (every ${REQUEST_EVERY_MS} ms, ${LB} LB): sent / lost`, (r) =>
    r.client ? `${r.client.sent} / ${r.client.sent - r.client.ok}` : `n/a (no ${LB} LB)`,
  );
  row('healthy real servers dropped (after a reload)', (r) => (r.engine === 'tskeepalived' ? `${r.healthyDropped.length}` : 'n/a'));
  row('invalid files: running, last good config kept', (r) => `${r.invalid.filter((i) => i.kept).length} of ${r.invalid.length}`);
  row('reload, SIGHUP to outcome p50 / p99 (ms)', (r) => (r.reloadMs.length ? `${pct(r.reloadMs, 50)} / ${pct(r.reloadMs, 99)}` : 'n/a'));
  row('master RSS before, each quarter, after (MB)', (r) => r.rss.map((k) => (k === undefined ? '?' : (k / 1024).toFixed(1))).join(' -> '));
  if (TRACE_GC) row('heap after each full GC (MB)', (r) => (r.heapAfterGc.length ? r.heapAfterGc.join(' -> ') : 'n/a'));
  row('crashes / exits', (r) => (r.crashed.length ? r.crashed.join('; ') : '0'));
  row('VIPs left on the master after SIGTERM', (r) => `${r.vipsLeftAfterStop}`);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w2 = Math.max(14, ...rows.map((r) => r[1].length)) + 2;
  const lines = [
    `reload storm: ${steps.length} SIGHUPs every ${INTERVAL_MS} ms to the master (${n('unchanged')} unchanged, ${n('change')} add/remove instance, group member or real server, ${n('invalid')} invalid), seed ${SEED}`,
    `${''.padEnd(w)}${'tskeepalived'.padEnd(w2)}keepalived 2.2.7`,
    ...rows.map(([l, x, y]) => `${l.padEnd(w)}${x.padEnd(w2)}${y}`),
  ];
  for (const r of results)
    for (const kind of INVALID_KINDS) {
      const of = r.invalid.filter((i) => i.kind === kind);
      const details = [...new Set(of.map((i) => i.detail))];
      if (of.length) lines.push(`  ${r.engine}, invalid file '${kind}' (${of.length}x): ${details.join(' | ')}`);
    }
  if (ts) {
    const failures = ts.client
      ? Object.entries(ts.client.failures)
          .map(([k, v]) => `${k} x${v}`)
          .join(', ')
      : '';
    if (failures) lines.push(`  tskeepalived lost requests: ${failures}`);
    if (VERBOSE) for (const f of ts.client?.firstFailures ?? []) lines.push(`  request at ${new Date(f.at).toISOString()}: ${f.why}`);
    if (ts.client)
      lines.push(
        `  tskeepalived replies by real server: ${Object.entries(ts.client.replies)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    for (const d of ts.healthyDropped.slice(0, 5)) lines.push(`  tskeepalived healthy real server dropped ${d}`);
    for (const l of [...ts.unchangedTransitions.master, ...ts.unchangedTransitions.peer].slice(0, 10)) lines.push(`  tskeepalived transition: ${l}`);
    const lost = ts.client ? ts.client.sent - ts.client.ok : 0;
    const goal =
      ts.unchangedTransitions.master.length + ts.unchangedTransitions.peer.length === 0 &&
      ts.vipAbsent === 0 &&
      ts.healthyDropped.length === 0 &&
      ts.invalid.every((i) => i.kept) &&
      ts.crashed.length === 0 &&
      ts.vipsLeftAfterStop === 0;
    lines.push(
      `goal (tskeepalived): 0 transitions of unchanged instances, unchanged VIPs never absent, 0 healthy real servers dropped, every invalid file refused with the last good config kept, 0 crashes, no VIP left after SIGTERM: ${goal ? 'met' : 'NOT met'}; requests lost: ${lost}`,
    );
  }
  if (ka) {
    const kt = ka.unchangedTransitions.master.length + ka.unchangedTransitions.peer.length;
    lines.push(
      `keepalived 2.2.7: ${kt} transitions of unchanged instances, ${ka.vipAbsent} VIP samples absent, ${ka.invalid.filter((i) => !i.kept).length} of ${ka.invalid.length} invalid files not survived with the VIPs kept`,
    );
    for (const l of [...ka.unchangedTransitions.master, ...ka.unchangedTransitions.peer].slice(0, 10)) lines.push(`  keepalived transition: ${l}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  if (INTERVAL_MS < 50) throw new Error('--interval-ms below 50 is not a reload storm the watchers can follow');
  const steps = plan(SIGHUPS, SEED);
  const lan = buildLab();
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    lan.cleanup();
  };
  const watchdog = setTimeout(() => {
    console.error(`reload storm: over its ${Math.round(BUDGET_MS / 1000)} s budget, stopping`);
    cleanup();
    process.exit(2);
  }, BUDGET_MS);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  process.on('exit', cleanup);
  try {
    await startRealServers(lan, BUDGET_MS);
    if (LB === 'nftables') routeThroughMaster(lan);
    const results: StormResult[] = [];
    for (const engine of ['tskeepalived', 'keepalived'] as Engine[]) {
      if (ONLY && ONLY !== engine) continue;
      console.error(`reload storm: ${engine} ...`);
      results.push(await runStorm(lan, engine, steps));
    }
    console.log(figures(results, steps));
  } finally {
    clearTimeout(watchdog);
    cleanup();
  }
}

main().catch((e) => {
  console.error(`reload storm failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
