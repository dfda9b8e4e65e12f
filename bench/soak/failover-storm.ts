// Failover storm (issue 10): N forced failovers of a 2-node VRRP pair on a bridge, alternating the
// causes (SIGSTOP/SIGCONT of the master, SIGKILL + restart of the master, link down/up of the
// master's veth, a 30% loss burst on the master), for tskeepalived<->tskeepalived,
// keepalived<->keepalived and both mixed pairs in the same run. Needs root, keepalived, tcpdump, nft.
//   node dist/bench/soak/failover-storm.js [--failovers 100] [--advert 1] [--burst-adverts 10]
//        [--loss 30] [--pairs ts-ts,ka-ka,ka-ts,ts-ka] [--sequential]
// The pairs run at the same time, each on its own bridge (--sequential: one after another).
// Node A (priority 150) is the master, node B (priority 100) the backup; a fault hits A, B takes over,
// the fault is healed at once (SIGCONT, restart, link up; the loss burst lasts --burst-adverts
// intervals), A preempts back. The VIP owners are read from the kernel's address notifications in
// both node namespaces; a client namespace sends a UDP request to the VIP every 20 ms.
// No `tc netem` here: delay (e.g. 200 ms) cannot be emulated, only loss (nftables numgen).
import { config, instance, vip, keepalivedConf, Lan, startTsDaemon, startKeepalived, sleep, type Node } from '../../test/vrrp-helpers.js';
import { GarpCapture, UdpClient, VipOwners, macOf, setLink, setLoss, startResponder, type OwnerSegment } from './failover-storm-lab.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`--${name} wants a positive number, got '${process.argv[i + 1]}'\n`);
    process.exit(2);
  }
  return v;
}
const FAILOVERS = Math.round(arg('failovers', 100));
const ADVERT_S = arg('advert', 1);
const BURST_ADVERTS = arg('burst-adverts', 10);
const LOSS = arg('loss', 30);
const CLIENT_MS = 20;
const SEQUENTIAL = process.argv.includes('--sequential');
const PAIRS = (process.argv.includes('--pairs') ? process.argv[process.argv.indexOf('--pairs') + 1] : 'ts-ts,ka-ka,ka-ts,ts-ka').split(',');

type Kind = 'ts' | 'ka';
type Cause = 'sigstop' | 'sigkill' | 'link' | 'loss';
const CAUSES: Cause[] = ['sigstop', 'sigkill', 'link', 'loss'];
const A = 0;
const B = 1;
const CLIENT = 2;
const ADVERT_MS = ADVERT_S * 1000;
const MDI_MS = 3 * ADVERT_MS + ((256 - 100) * ADVERT_MS) / 256; // the backup's (priority 100) Master_Down_Interval
const STABLE_MS = 2 * ADVERT_MS;

/** Seconds one cycle of each cause should take (the time bound is larger: see the waits below). */
function expectedCycleS(c: Cause): number {
  const a = ADVERT_S;
  const mdi = MDI_MS / 1000;
  switch (c) {
    case 'sigstop':
      return mdi + a + 2 * a; // takeover, resume, the backup yields, stable
    case 'sigkill':
      return mdi + 0.5 + mdi + 2 * a; // takeover, restart, preempt after its own MDI, stable
    case 'link':
      return mdi + mdi + 2 * a;
    case 'loss':
      return BURST_ADVERTS * a + 2 * a;
  }
}

/** One VRRP daemon, tskeepalived (the full daemon, -P) or keepalived, restartable. */
class VrrpNode {
  node!: Node & { vrrpPid?: () => number | undefined };
  crashes = 0;
  private expectExit = false;
  private starts = 0;
  constructor(
    readonly lan: Lan,
    readonly kind: Kind,
    readonly index: number,
    readonly confPath: string,
    readonly tag: string,
  ) {
    this.start();
  }
  start(): void {
    this.expectExit = false;
    const tag = `${this.tag}-${this.starts++}`;
    this.node = this.kind === 'ts' ? startTsDaemon(this.lan, this.index, this.confPath, tag) : startKeepalived(this.lan, this.index, this.confPath, tag);
    const n = this.node;
    void n.exited.then((code) => {
      if (!this.expectExit && n === this.node) {
        this.crashes++;
        process.stdout.write(`  !! ${this.kind} node ${this.index} exited unexpectedly (code ${code}); last lines:\n    ${n.lines.slice(-5).join('\n    ')}\n`);
      }
    });
  }
  /** the process that runs VRRP (keepalived's VRRP child) */
  vrrpPid(): number | undefined {
    return this.kind === 'ts' ? this.node.pid : this.node.vrrpPid!();
  }
  signalVrrp(sig: NodeJS.Signals): void {
    const pid = this.vrrpPid();
    if (!pid) throw new Error(`${this.tag}: no VRRP pid`);
    process.kill(pid, sig);
  }
  /** SIGKILL every process of the daemon, no chance to clean up */
  async kill(): Promise<void> {
    this.expectExit = true;
    if (this.kind === 'ka') {
      // freeze the parent first so that it neither respawns the child nor tells it to stop
      process.kill(this.node.pid, 'SIGSTOP');
      const child = this.vrrpPid();
      if (child) process.kill(child, 'SIGKILL');
    }
    this.node.proc.kill('SIGKILL');
    await this.node.exited;
  }
  async stop(): Promise<void> {
    this.expectExit = true;
    const pid = this.vrrpPid();
    if (pid) process.kill(pid, 'SIGCONT');
    this.node.proc.kill('SIGCONT');
    this.node.proc.kill('SIGTERM');
    const done = await Promise.race([this.node.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) this.node.proc.kill('SIGKILL');
  }
}

interface Cycle {
  cause: Cause;
  fault: number;
  /** when B was seen holding the VIP (undefined: no failover, e.g. a loss burst that lost too few adverts) */
  takeover?: number;
  heal: number;
  /** start of the stable state "only A holds the VIP" */
  converged?: number;
  snapshotOwners: number[];
}

interface PairFigures {
  label: string;
  cycles: Cycle[];
  converged: number;
  failovers: number;
  failoverMs: number[]; // fault -> B holds the VIP (sigstop, sigkill, link)
  maxZeroMs: number;
  maxTwoAfterHealMs: number;
  maxTwoAfterHealBy: Record<Cause, number>;
  twoLongAfterHeal: number; // two-owner intervals longer than one advert interval, counted from the heal
  maxTwoRawMs: number;
  twoLongRaw: number;
  /** VIP added and held at least 100 ms */
  takeovers: number;
  /** VIP added and given up within 100 ms */
  shortTakeovers: number;
  takeoversWithGarp: number;
  /** VIP added (kernel event) -> first GARP for it from that node at the client (tcpdump) */
  garpDelayMs: number[];
  sent: number;
  lost: number;
  lostBy: Record<Cause, number>;
  crashes: number;
  badSnapshots: number;
  /** nodes still holding the VIP after both daemons were stopped with SIGTERM */
  leftAfterStop: number;
}

function labelOf(pair: string): string {
  const [m, b] = pair.split('-');
  const name = (k: string) => (k === 'ts' ? 'tskeepalived' : 'keepalived');
  return `${name(m)} master / ${name(b)} backup`;
}

async function runPair(lan: Lan, pair: string, vrid: number, vipAddr: string): Promise<PairFigures> {
  const [mk, bk] = pair.split('-') as [Kind, Kind];
  if (!['ts', 'ka'].includes(mk) || !['ts', 'ka'].includes(bk)) throw new Error(`--pairs: '${pair}' is not one of ts-ts, ka-ka, ka-ts, ts-ka`);
  const conf = (prio: number) =>
    keepalivedConf(
      config({
        instances: [instance('VI_STORM', { virtualRouterId: vrid, version: 3, advertInt: ADVERT_MS, priority: prio, virtualIpaddress: [vip(vipAddr)] })],
      }),
    );
  const owners = new VipOwners(lan, [A, B], vipAddr);
  const garps = new GarpCapture(lan, CLIENT, vipAddr);
  const macs = [macOf(lan, A), macOf(lan, B)];
  const a = new VrrpNode(lan, mk, A, lan.writeText(`${pair}-a.conf`, conf(150)), `${pair}-a`);
  const only = (n: number) => (o: number[]) => o.length === 1 && o[0] === n;
  if ((await owners.waitStable(only(A), 0, MDI_MS + 10_000)) === undefined) throw new Error(`${pair}: node A never took the VIP`);
  const b = new VrrpNode(lan, bk, B, lan.writeText(`${pair}-b.conf`, conf(100)), `${pair}-b`);
  await sleep(Math.max(1500, 2 * ADVERT_MS));
  const client = new UdpClient(lan, CLIENT, vipAddr, CLIENT_MS);
  await sleep(500);
  const cycles: Cycle[] = [];
  const storm0 = Date.now();
  let leftAfterStop: number[] = [];
  try {
    for (let i = 0; i < FAILOVERS; i++) {
      const cause = CAUSES[i % CAUSES.length];
      await sleep(Math.random() * ADVERT_MS); // a random phase against A's adverts
      const fault = Date.now();
      let takeover: number | undefined;
      const bHolds = (o: number[]) => o.includes(B);
      switch (cause) {
        case 'sigstop':
          a.signalVrrp('SIGSTOP');
          takeover = await owners.waitStable(bHolds, 0, MDI_MS + 5000);
          a.signalVrrp('SIGCONT');
          break;
        case 'sigkill':
          await a.kill();
          takeover = await owners.waitStable(bHolds, 0, MDI_MS + 5000);
          a.start();
          break;
        case 'link':
          setLink(lan, A, false);
          takeover = await owners.waitStable(bHolds, 0, MDI_MS + 5000);
          setLink(lan, A, true);
          break;
        case 'loss': {
          setLoss(lan, A, LOSS);
          const end = fault + BURST_ADVERTS * ADVERT_MS;
          takeover = await owners.waitStable(bHolds, 0, BURST_ADVERTS * ADVERT_MS);
          await sleep(Math.max(0, end - Date.now()));
          setLoss(lan, A, undefined);
          break;
        }
      }
      const heal = Date.now();
      const converged = await owners.waitStable(only(A), STABLE_MS, 2 * MDI_MS + 10_000);
      const snapshotOwners = owners.snapshot();
      cycles.push({ cause, fault, takeover, heal, converged, snapshotOwners });
      if (converged === undefined) process.stdout.write(`  !! ${pair} cycle ${i + 1} (${cause}): no convergence; owners now [${owners.current().join(',')}]\n`);
      if ((i + 1) % 20 === 0) process.stdout.write(`  ${pair}: ${i + 1}/${FAILOVERS} failovers, ${((Date.now() - storm0) / 1000).toFixed(0)} s\n`);
    }
    await sleep(1000); // late answers
  } finally {
    client.stop();
    await Promise.all([a.stop(), b.stop()]);
    await sleep(200);
    leftAfterStop = owners.snapshot();
    owners.stop();
    garps.stop();
  }
  return {
    ...figures(labelOf(pair), cycles, owners.timeline(), owners.gains, owners.losses, garps.garps, macs, client, a.crashes + b.crashes),
    leftAfterStop: leftAfterStop.length,
  };
}

function figures(
  label: string,
  cycles: Cycle[],
  timeline: OwnerSegment[],
  gains: { t: number; node: number }[],
  losses: { t: number; node: number }[],
  garps: { t: number; mac: string }[],
  macs: string[],
  client: UdpClient,
  crashes: number,
): Omit<PairFigures, 'leftAfterStop'> {
  const from = cycles[0].fault;
  const to = cycles[cycles.length - 1].converged ?? cycles[cycles.length - 1].heal;
  const inStorm = timeline.filter((s) => s.end > from && s.start < to);
  const zero = inStorm.filter((s) => s.owners.length === 0).map((s) => s.end - s.start);
  const two = inStorm.filter((s) => s.owners.length >= 2);
  // the part of a two-owner interval after the fault was healed: before it, the master was frozen,
  // dead, cut off or losing packets and could not give the VIP up
  const healBefore = (t: number) => cycles.filter((c) => c.fault <= t).pop();
  const afterHeal = two.map((s) => {
    const c = healBefore(s.start);
    return c ? s.end - Math.max(s.start, c.heal) : s.end - s.start;
  });
  const raw = two.map((s) => s.end - s.start);
  const maxTwoAfterHealBy = { sigstop: 0, sigkill: 0, link: 0, loss: 0 } as Record<Cause, number>;
  two.forEach((s, i) => {
    const c = healBefore(s.start);
    if (c) maxTwoAfterHealBy[c.cause] = Math.max(maxTwoAfterHealBy[c.cause], afterHeal[i]);
  });
  // a node that gave the VIP up again within 100 ms (the healed master won at once) need not announce it
  const stormGains = gains.filter((g) => g.t >= from && g.t <= to);
  const heldMs = (g: { t: number; node: number }) => (losses.find((l) => l.node === g.node && l.t >= g.t)?.t ?? Infinity) - g.t;
  const shortGains = stormGains.filter((g) => heldMs(g) < 100);
  const longGains = stormGains.filter((g) => heldMs(g) >= 100);
  const hasGarp = (g: { t: number; node: number }) => garps.some((p) => p.mac === macs[g.node] && p.t >= g.t - 50 && p.t <= g.t + 1000);
  const withGarp = longGains.filter(hasGarp).length;
  const garpDelays = stormGains.filter(hasGarp).map((g) => garps.find((p) => p.mac === macs[g.node] && p.t >= g.t - 50)!.t - g.t);
  for (const g of longGains.filter((x) => !hasGarp(x))) {
    const c = healBefore(g.t);
    const next = garps.find((p) => p.mac === macs[g.node] && p.t >= g.t - 50);
    const before = garps.filter((p) => p.mac === macs[g.node] && p.t < g.t - 50).pop();
    process.stdout.write(
      `  !! ${label}: node ${'AB'[g.node]} took the VIP ${c ? `${(g.t - c.fault).toFixed(0)} ms after a ${c.cause} fault` : ''}, held it ${heldMs(g) === Infinity ? 'to the end' : `${heldMs(g).toFixed(0)} ms`}, with no GARP within 1 s (previous one from it: ${before ? `${(g.t - before.t).toFixed(0)} ms before` : 'none'}; next: ${next ? `${(next.t - g.t).toFixed(0)} ms later` : 'none'})\n`,
    );
  }
  const lostBy = { sigstop: 0, sigkill: 0, link: 0, loss: 0 } as Record<Cause, number>;
  let lost = 0;
  cycles.forEach((c, i) => {
    const end = cycles[i + 1]?.fault ?? to;
    const n = client.lost(c.fault, end).length;
    lostBy[c.cause] += n;
    lost += n;
  });
  return {
    label,
    cycles,
    converged: cycles.filter((c) => c.converged !== undefined).length,
    failovers: cycles.filter((c) => c.takeover !== undefined).length,
    failoverMs: cycles.filter((c) => c.cause !== 'loss' && c.takeover !== undefined).map((c) => c.takeover! - c.fault),
    maxZeroMs: Math.max(0, ...zero),
    maxTwoAfterHealMs: Math.max(0, ...afterHeal),
    maxTwoAfterHealBy,
    twoLongAfterHeal: afterHeal.filter((d) => d > ADVERT_MS).length,
    maxTwoRawMs: Math.max(0, ...raw),
    twoLongRaw: raw.filter((d) => d > ADVERT_MS).length,
    takeovers: longGains.length,
    shortTakeovers: shortGains.length,
    takeoversWithGarp: withGarp,
    garpDelayMs: garpDelays,
    sent: client.sent.filter((t) => t >= from && t < to).length,
    lost,
    lostBy,
    crashes,
    badSnapshots: cycles.filter((c) => !(c.snapshotOwners.length === 1 && c.snapshotOwners[0] === A)).length,
  };
}

function report(all: PairFigures[]): void {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(Math.abs(x) < 10 && x !== Math.round(x) ? 1 : 0) : '-');
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
  const rows: [string, (f: PairFigures) => number, string, number | undefined][] = [
    ['convergences (A sole owner again)', (f) => f.converged, `= ${FAILOVERS}`, FAILOVERS],
    ['failovers seen (B took the VIP)', (f) => f.failovers, '', undefined],
    ['mean failover ms (fault -> B owns)', (f) => mean(f.failoverMs), '', undefined],
    ['max ms with 0 owners', (f) => f.maxZeroMs, '', undefined],
    ['max ms with 2 owners after heal', (f) => f.maxTwoAfterHealMs, '', undefined],
    ...CAUSES.map(
      (c) =>
        [`  in ${c} cycles`, (f: PairFigures) => f.maxTwoAfterHealBy[c], '', undefined] as [string, (f: PairFigures) => number, string, number | undefined],
    ),
    [`2-owner intervals > ${ADVERT_MS} ms after heal`, (f) => f.twoLongAfterHeal, '0', 0],
    ['max ms with 2 owners incl. fault', (f) => f.maxTwoRawMs, '', undefined],
    [`2-owner intervals > ${ADVERT_MS} ms incl. fault`, (f) => f.twoLongRaw, '', undefined],
    ['takeovers (VIP added, held >= 100 ms)', (f) => f.takeovers, '', undefined],
    ['  VIP added, given up within 100 ms', (f) => f.shortTakeovers, '', undefined],
    ['takeovers without GARP within 1 s', (f) => f.takeovers - f.takeoversWithGarp, '0', 0],
    ['mean ms VIP added -> first GARP', (f) => mean(f.garpDelayMs), '', undefined],
    ['max ms VIP added -> first GARP', (f) => Math.max(...f.garpDelayMs), '', undefined],
    ['client requests sent', (f) => f.sent, '', undefined],
    ['client requests lost', (f) => f.lost, '', undefined],
    ...CAUSES.map(
      (c) => [`  lost in ${c} cycles`, (f: PairFigures) => f.lostBy[c], '', undefined] as [string, (f: PairFigures) => number, string, number | undefined],
    ),
    ['owners != {A} at convergence (ip addr)', (f) => f.badSnapshots, '0', 0],
    ['daemon crashes', (f) => f.crashes, '0', 0],
    ['VIP left after SIGTERM of both', (f) => f.leftAfterStop, '0', 0],
  ];
  const ours = all.find((f) => f.label.startsWith('tskeepalived master / tskeepalived'));
  const theirs = all.find((f) => f.label.startsWith('keepalived master / keepalived'));
  process.stdout.write(`\nfigures (advert_int ${ADVERT_S} s, ${FAILOVERS} forced failovers per pair, causes in turn: ${CAUSES.join(', ')}):\n`);
  process.stdout.write(`  pairs: ${all.map((f, i) => `[${i + 1}] ${f.label}`).join('; ')}\n`);
  const head = ['metric'.padEnd(40), ...all.map((_, i) => `[${i + 1}]`.padStart(9)), 'ours/ka'.padStart(9), 'goal'.padStart(8), 'met'.padStart(5)];
  process.stdout.write(`  ${head.join(' ')}\n`);
  for (const [name, get, goal, want] of rows) {
    const vals = all.map(get);
    const ratio = ours && theirs ? get(ours) / get(theirs) : NaN;
    const met = want === undefined ? '' : vals.every((v) => (want === 0 ? v === 0 : v === want)) ? 'yes' : 'NO';
    const r = Number.isFinite(ratio) ? ratio.toFixed(2) : get(ours ?? all[0]) === 0 && theirs && get(theirs) === 0 ? '1.00' : '-';
    process.stdout.write(`  ${[name.padEnd(40), ...vals.map((v) => fmt(v).padStart(9)), r.padStart(9), goal.padStart(8), met.padStart(5)].join(' ')}\n`);
  }
  process.stdout.write('  (200 ms delay bursts are not run: this kernel has no tc netem, and nftables cannot delay packets)\n');
}

async function main() {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/soak/failover-storm needs root (network namespaces)\n');
    process.exit(2);
  }
  const perCycle = CAUSES.map((c) => expectedCycleS(c) + ADVERT_S / 2);
  const cycleS =
    FAILOVERS >= CAUSES.length ? (perCycle.reduce((s, x) => s + x, 0) / CAUSES.length) * FAILOVERS : perCycle.slice(0, FAILOVERS).reduce((s, x) => s + x, 0);
  const expected = (SEQUENTIAL ? PAIRS.length : 1) * (cycleS + MDI_MS / 1000 + 4);
  const bound =
    (SEQUENTIAL ? PAIRS.length : 1) * (FAILOVERS * (MDI_MS / 1000 + 5 + BURST_ADVERTS * ADVERT_S + (2 * MDI_MS) / 1000 + 10 + ADVERT_S) + MDI_MS / 1000 + 25);
  process.stdout.write(
    `failover storm: ${FAILOVERS} forced failovers x ${PAIRS.length} pairs (${PAIRS.join(', ')}; ${SEQUENTIAL ? 'one after another' : 'at the same time, one bridge each'}), VRRPv3 advert_int ${ADVERT_S} s, ` +
      `loss bursts ${LOSS}% for ${BURST_ADVERTS} adverts; expected duration ~${(expected / 60).toFixed(1)} min (bounded by ${(bound / 60).toFixed(0)} min)\n`,
  );
  process.stdout.write('  no tc netem on this kernel: 200 ms delay cannot be emulated; only loss (nftables numgen) is\n');
  // one lab per pair (own bridge, namespaces, subnet), so that the pairs can run at the same time
  const labs: Lan[] = [];
  let cleaned = false;
  const cleanup = () => {
    if (!cleaned) for (const lan of labs) lan.cleanup();
    cleaned = true;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  process.on('exit', cleanup);
  try {
    const run = async (pair: string, k: number): Promise<PairFigures> => {
      const lan = new Lan(`tks-${process.pid}-s${k}`, 3, `10.${71 + k}.0`, `fd${71 + k}`);
      labs.push(lan);
      startResponder(lan, A, 'node-a');
      startResponder(lan, B, 'node-b');
      const t0 = Date.now();
      process.stdout.write(`pair ${pair} (${labelOf(pair)}): namespaces ${lan.prefix}-*, vrid ${71 + k}\n`);
      const f = await runPair(lan, pair, 71 + k, `10.${71 + k}.0.100`);
      process.stdout.write(`  ${pair} done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      return f;
    };
    const all: PairFigures[] = [];
    if (SEQUENTIAL) for (const [k, pair] of PAIRS.entries()) all.push(await run(pair, k));
    else all.push(...(await Promise.all(PAIRS.map((pair, k) => run(pair, k)))));
    report(all);
  } finally {
    cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`failover storm failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
