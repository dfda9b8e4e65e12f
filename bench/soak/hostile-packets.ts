// Hostile-packets soak (issue 10): mutated VRRP datagrams injected at a running MASTER and BACKUP,
// tskeepalived and keepalived 2.2.7 side by side in the same run. Needs root, keepalived, tcpdump.
//   npm run bench:soak:hostile-packets -- [--packets 100000] [--rate 2000] [--seed N]
//   node dist/bench/soak/hostile-packets.js [--packets N] [--rate PPS] [--seed N]
//
// Two labs, each a bridge with three namespaces (a: MASTER, priority 200; b: BACKUP, priority 100;
// c: injector), one lab per implementation, the same keepalived.conf: four instances, VRRPv2 with
// a PASS password, VRRPv3 IPv4, VRRPv3 IPv6 and VRRPv2 inside IPsec AH. In each lab the injector
// (hostile-injector.ts) captures the master's adverts and sends the same seeded sequence of
// mutations (hostile-mutations.ts). Figures: state changes, crashes, drops counted against the
// drops expected, by reason, RSS growth, event-loop delay, advert timing, log lines written.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { Lan, sh, sleep, waitFor } from '../../test/vrrp-helpers.js';
import type { LabAddresses, Role } from './hostile-mutations.js';
import type { InjectorPlan, InjectorReport } from './hostile-injector.js';
import { readPid } from '../../src/daemon/pidfile.js';
import { pct } from '../watch.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const PACKETS = arg('packets', 100_000);
const RATE = arg('rate', 2000);
const SEED = arg('seed', Date.now() % 2 ** 31);
const STATUS_PORT = 9100;
const VRIDS = { v2pass: 10, v3v4: 11, v3v6: 12, ah: 13 };
const GOAL_RSS_MB = 5;
const GOAL_LOOP_P99_MS = 5;

type Impl = 'ts' | 'ka';
const ROLES: Role[] = ['master', 'backup'];

/** Lines of a child's stdout+stderr, with the time each arrived. */
class Output {
  lines: { t: number; text: string }[] = [];
  private buf = '';
  constructor(readonly proc: ChildProcess) {
    const on = (d: Buffer) => {
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      const t = Date.now();
      for (const text of parts) this.lines.push({ t, text });
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
  }
  between(t0: number, t1: number): string[] {
    return this.lines.filter((l) => l.t >= t0 && l.t <= t1).map((l) => l.text);
  }
}

function conf(lan: Lan, role: Role): string {
  const prio = role === 'master' ? 200 : 100;
  const inst = (name: string, vrid: number, body: string[], vip: string) => [
    `vrrp_instance ${name} {`,
    '  interface eth0',
    `  virtual_router_id ${vrid}`,
    `  priority ${prio}`,
    '  advert_int 1',
    ...body.map((l) => `  ${l}`),
    '  virtual_ipaddress {',
    `    ${vip}`,
    '  }',
    '}',
  ];
  return (
    [
      'global_defs {',
      `  router_id hostile-${role}`,
      '  vrrp_garp_master_delay 0',
      '}',
      ...inst('V2PASS', VRIDS.v2pass, ['authentication {', '  auth_type PASS', '  auth_pass hostile1', '}'], `${lan.subnet4}.100/24`),
      ...inst('V3V4', VRIDS.v3v4, ['version 3'], `${lan.subnet4}.101/24`),
      ...inst('V3V6', VRIDS.v3v6, ['version 3'], `${lan.subnet6}::100/64`),
      ...inst('V2AH', VRIDS.ah, ['authentication {', '  auth_type AH', '  auth_pass hostile2', '}'], `${lan.subnet4}.103/24`),
    ].join('\n') + '\n'
  );
}

const vipsOf = (lan: Lan) => [`${lan.subnet4}.100`, `${lan.subnet4}.101`, `${lan.subnet6}::100`, `${lan.subnet4}.103`];

interface LinkInfo {
  mac: string;
  ll6: string;
}
function linkInfo(ns: string): LinkInfo {
  const j = JSON.parse(sh('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', 'eth0']).out) as {
    address: string;
    addr_info: { family: string; local: string; scope: string; tentative?: boolean }[];
  }[];
  const ll = j[0].addr_info.find((a) => a.family === 'inet6' && a.scope === 'link' && !a.tentative);
  return { mac: j[0].address, ll6: ll?.local ?? '' };
}

function lineCount(file: string): number {
  try {
    const b = readFileSync(file);
    let n = 0;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

function rssKb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** user + system CPU seconds of a process (/proc/PID/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Datagrams the kernel dropped at the namespace's raw sockets (receive queue full): /proc/net/raw{,6} "drops". */
function rawSocketDrops(ns: string): number {
  let n = 0;
  for (const f of ['/proc/net/raw', '/proc/net/raw6']) {
    const r = sh('ip', ['netns', 'exec', ns, 'cat', f]);
    for (const line of r.out.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 5) n += Number(cols[cols.length - 1]) || 0;
    }
  }
  return n;
}

/** keepalived's SIGUSR2 stats file, per instance: { "Became master": n, "Packet Errors/Length": n, ... } */
async function keepalivedStats(pid: number | undefined, tmpdir: string): Promise<Record<string, Record<string, number>>> {
  const file = join(tmpdir, 'keepalived.stats');
  if (!pid) return {};
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return {};
  }
  await waitFor(
    'keepalived.stats',
    () => existsSync(file) && readFileSync(file, 'utf8') !== before && readFileSync(file, 'utf8').includes('Sent:'),
    5000,
  ).catch(() => 0);
  await sleep(100);
  const out: Record<string, Record<string, number>> = {};
  let inst = '';
  let section = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^VRRP Instance: (\S+)/.exec(line);
    if (m) {
      inst = m[1];
      out[inst] = {};
      continue;
    }
    const sec = /^ {2}(\S[^:]*):$/.exec(line);
    if (sec) {
      section = sec[1];
      continue;
    }
    const kv = /^( +)([^:]+): (\d+)/.exec(line);
    if (kv && inst) out[inst][kv[1].length === 2 ? kv[2] : `${section}/${kv[2]}`] = Number(kv[3]);
  }
  return out;
}

const KA_DROP_KEYS = [
  'Packet Errors/Length',
  'Packet Errors/TTL',
  'Packet Errors/Invalid Type',
  'Packet Errors/Advertisement Interval',
  'Packet Errors/Address List',
  'Authentication Errors/Invalid Type',
  'Authentication Errors/Type Mismatch',
  'Authentication Errors/Failure',
];

interface Scrape {
  t: number;
  url: string;
  ok: boolean;
  series?: Record<string, number>;
}

function sumSeries(s: Record<string, number> | undefined, name: string, filter: (labels: string) => boolean = () => true): number {
  let n = 0;
  for (const [k, v] of Object.entries(s ?? {})) {
    const i = k.indexOf('{');
    const nm = i < 0 ? k : k.slice(0, i);
    if (nm === name && filter(i < 0 ? '' : k.slice(i))) n += v;
  }
  return n;
}

function byLabel(s: Record<string, number> | undefined, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`${label}="([^"]*)"`);
  for (const [k, v] of Object.entries(s ?? {})) {
    if (!k.startsWith(`${name}{`)) continue;
    const m = re.exec(k);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + v;
  }
  return out;
}

/**
 * The longest gap (ms) between two adverts the master sent, per VRID, from tcpdump -tt lines of its
 * outgoing IPv4 adverts (extra adverts answering lower-priority ones only shorten gaps).
 */
function advertGaps(lines: string[]): Record<string, number> {
  const last = new Map<string, number>();
  const gap: Record<string, number> = {};
  for (const l of lines) {
    const t = /^(\d+\.\d+) /.exec(l);
    const v = /vrid (\d+)/.exec(l);
    if (!t || !v) continue;
    const ms = Number(t[1]) * 1000;
    const prev = last.get(v[1]);
    if (prev !== undefined) gap[v[1]] = Math.max(gap[v[1]] ?? 0, ms - prev);
    last.set(v[1], ms);
  }
  return gap;
}

interface Node {
  impl: Impl;
  role: Role;
  ns: string;
  proc: ChildProcess;
  /** its log (console output), written to a file: a slow reader must not slow the daemon */
  logFile: string;
  /** the process doing VRRP: tskeepalived's only process, keepalived's VRRP child */
  vrrpPid: () => number | undefined;
  tmpdir: string;
}

interface Lab {
  impl: Impl;
  lan: Lan;
  nodes: Record<Role, Node>;
  addrs: LabAddresses;
  monitors: Record<Role, Output>;
  tcpdump?: Output;
}

const cleanups: (() => void)[] = [];
function cleanupAll(): void {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
process.on('exit', cleanupAll);

function spawnIn(lan: Lan, ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, logFile?: string): ChildProcess {
  const out = logFile ? openSync(logFile, 'a') : 'pipe';
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  if (typeof out === 'number') closeSync(out);
  lan.procs.push(p);
  return p;
}

function startNode(lab: { impl: Impl; lan: Lan }, role: Role): Node {
  const { impl, lan } = lab;
  const ns = lan.namespaces[role === 'master' ? 0 : 1];
  const dir = lan.dir;
  const tmpdir = join(dir, `${impl}-${role}`);
  mkdirSync(tmpdir, { recursive: true });
  const cfg = lan.writeText(`${role}.conf`, conf(lan, role));
  const pid = join(tmpdir, 'main.pid');
  const vpid = join(tmpdir, 'vrrp.pid');
  const logFile = join(tmpdir, 'console.log');
  let proc: ChildProcess;
  if (impl === 'ts') {
    const listen = `${lan.addr4(role === 'master' ? 0 : 1)}:${STATUS_PORT}`;
    proc = spawnIn(
      lan,
      ns,
      process.execPath,
      ['bin/tskeepalived', '-P', '-n', '-l', '-G', '-f', cfg, '-p', pid, '-r', vpid, `--status-listen=${listen}`],
      { TMPDIR: tmpdir },
      logFile,
    );
  } else {
    proc = spawnIn(lan, ns, 'keepalived', ['-n', '-l', '-G', '-P', '-f', cfg, '-p', pid, '-r', vpid], { TMPDIR: tmpdir }, logFile);
  }
  return { impl, role, ns, proc, logFile, vrrpPid: () => (impl === 'ts' ? proc.pid : readPid(vpid)), tmpdir };
}

async function buildLab(impl: Impl, index: number): Promise<Lab> {
  const lan = new Lan(`tks-${process.pid}-hp${impl}`, 3, `10.231.${index}`, `fd31:${index}`);
  cleanups.push(() => lan.cleanup());
  // link-local addresses must be past DAD before the daemons pick their IPv6 source
  await waitFor(`${impl} link-local addresses`, () => lan.namespaces.every((ns) => linkInfo(ns).ll6 !== ''), 10_000, 100);
  const info = lan.namespaces.map(linkInfo);
  const ep = (i: number) => ({ mac: info[i].mac, v4: lan.addr4(i), ll6: info[i].ll6 });
  const addrs: LabAddresses = { master: ep(0), backup: ep(1), injector: ep(2), masterVips4: vipsOf(lan).filter((v) => !v.includes(':')), vrids: VRIDS };
  const lab = { impl, lan };
  const nodes = { master: startNode(lab, 'master'), backup: startNode(lab, 'backup') };
  const monitors = {
    master: new Output(spawn('ip', ['-n', lan.namespaces[0], 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] })),
    backup: new Output(spawn('ip', ['-n', lan.namespaces[1], 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] })),
  };
  for (const m of Object.values(monitors)) cleanups.push(() => m.proc.kill('SIGKILL'));
  return { impl, lan, nodes, addrs, monitors };
}

const holdsAll = (lab: Lab, i: number) => vipsOf(lab.lan).every((v) => lab.lan.hasAddress(i, v));
const holdsNone = (lab: Lab, i: number) => vipsOf(lab.lan).every((v) => !lab.lan.hasAddress(i, v));

interface Snapshot {
  t: number;
  rssKb: Record<Role, number | undefined>;
  logLines: Record<Role, number>;
  cpuS: Record<Role, number>;
  vrrpPid: Record<Role, number | undefined>;
  kernelDrops: Record<Role, number>;
  ts?: Record<Role, Record<string, number> | undefined>;
  ka?: Record<Role, Record<string, Record<string, number>>>;
}

async function snapshot(lab: Lab, lastScrape: (role: Role) => Record<string, number> | undefined): Promise<Snapshot> {
  const s: Snapshot = {
    t: Date.now(),
    rssKb: { master: rssKb(lab.nodes.master.vrrpPid()), backup: rssKb(lab.nodes.backup.vrrpPid()) },
    cpuS: { master: cpuSeconds(lab.nodes.master.vrrpPid()), backup: cpuSeconds(lab.nodes.backup.vrrpPid()) },
    logLines: { master: lineCount(lab.nodes.master.logFile), backup: lineCount(lab.nodes.backup.logFile) },
    vrrpPid: { master: lab.nodes.master.vrrpPid(), backup: lab.nodes.backup.vrrpPid() },
    kernelDrops: { master: rawSocketDrops(lab.nodes.master.ns), backup: rawSocketDrops(lab.nodes.backup.ns) },
  };
  if (lab.impl === 'ts') s.ts = { master: lastScrape('master'), backup: lastScrape('backup') };
  else
    s.ka = {
      master: await keepalivedStats(s.vrrpPid.master, lab.nodes.master.tmpdir),
      backup: await keepalivedStats(s.vrrpPid.backup, lab.nodes.backup.tmpdir),
    };
  return s;
}

function runInjector(lab: Lab, plan: InjectorPlan): Promise<InjectorReport> {
  const file = join(lab.lan.dir, 'plan.json');
  writeFileSync(file, JSON.stringify(plan));
  const p = spawnIn(lab.lan, lab.lan.namespaces[2], process.execPath, ['dist/bench/soak/hostile-injector.js', file]);
  const out = new Output(p);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), (plan.maxSeconds + plan.captureSeconds + 15) * 1000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.lines.map((l) => l.text).find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as InjectorReport);
      else reject(new Error(`${lab.impl} injector exited ${code}: ${out.lines.map((l) => l.text).join('\n')}`));
    });
  });
}

const fmt = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, raw sockets)');
  process.stdout.write(`hostile-packets: seed ${SEED}, ${PACKETS} packets per lab at ${RATE}/s\n`);
  const labs = { ts: await buildLab('ts', 1), ka: await buildLab('ka', 2) };
  for (const lab of Object.values(labs)) {
    await waitFor(`${lab.impl}: master holds every VIP, backup none`, () => holdsAll(lab, 0) && holdsNone(lab, 1), 20_000, 200);
  }
  // the scraper lives in the ts injector namespace and reaches both status endpoints over the lab
  const scrapeUrls = ROLES.map((r) => `http://${labs.ts.lan.addr4(r === 'master' ? 0 : 1)}:${STATUS_PORT}/metrics`);
  const maxSeconds = Math.ceil((PACKETS / RATE) * 2) + 60;
  const scraper = new Output(
    spawnIn(labs.ts.lan, labs.ts.lan.namespaces[2], process.execPath, ['dist/bench/soak/hostile-scraper.js', '1000', String(maxSeconds + 60), ...scrapeUrls]),
  );
  const scrapes = (): Scrape[] => scraper.lines.filter((l) => l.text.startsWith('{')).map((l) => JSON.parse(l.text) as Scrape);
  const lastScrape = (role: Role) =>
    scrapes()
      .filter((s) => s.url === scrapeUrls[ROLES.indexOf(role)] && s.ok)
      .pop()?.series;
  for (const lab of Object.values(labs)) {
    const dumpFilter = `src host ${lab.addrs.master.v4} and (ip proto 112 or ip proto 51)`;
    const td = spawn('ip', ['netns', 'exec', lab.nodes.master.ns, 'tcpdump', '-i', 'eth0', '-Q', 'out', '-n', '-tt', '-l', '--immediate-mode', dumpFilter], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    lab.tcpdump = new Output(td);
    cleanups.push(() => td.kill('SIGKILL'));
  }
  // an idle Node process beside them: the event-loop delay the machine alone causes
  const control = new Output(
    spawn(process.execPath, ['dist/bench/soak/hostile-loop-control.js', String(maxSeconds + 60)], { stdio: ['ignore', 'pipe', 'ignore'] }),
  );
  cleanups.push(() => control.proc.kill('SIGKILL'));
  await waitFor('first scrapes', () => ROLES.every((r) => lastScrape(r) !== undefined), 10_000, 100);
  await sleep(6000); // a full event-loop window of the calm state
  const calmWindow = ROLES.map((r) => lastScrape(r)?.['tskeepalived_event_loop_delay_seconds{quantile="0.99"}']);
  const before = { ts: await snapshot(labs.ts, lastScrape), ka: await snapshot(labs.ka, lastScrape) };
  const plan = (lab: Lab): InjectorPlan => ({
    seed: SEED,
    packets: PACKETS,
    rate: RATE,
    maxSeconds: Math.ceil((PACKETS / RATE) * 2) + 10,
    captureSeconds: 10,
    lab: lab.addrs,
  });
  // the attacker's side (injectors, this process, the heap probe) yields the cores to the daemons
  // (normal priority, as is the idle control process): on a shared machine the figures then show
  // the daemons, not the injector's load
  setPriority(process.pid, 10);
  const t0 = Date.now();
  // RSS during the run, every second
  const rssSamples: Record<Impl, Record<Role, number[]>> = { ts: { master: [], backup: [] }, ka: { master: [], backup: [] } };
  const rssTimer = setInterval(() => {
    for (const lab of Object.values(labs))
      for (const r of ROLES) {
        const v = rssKb(lab.nodes[r].vrrpPid());
        if (v !== undefined) rssSamples[lab.impl][r].push(v);
      }
  }, 1000);
  const [tsReport, kaReport] = await Promise.all([runInjector(labs.ts, plan(labs.ts)), runInjector(labs.ka, plan(labs.ka))]);
  const t1 = Date.now();
  clearInterval(rssTimer);
  await sleep(6000); // the daemons catch up; one more event-loop window and scrape
  const after = { ts: await snapshot(labs.ts, lastScrape), ka: await snapshot(labs.ka, lastScrape) };
  const t2 = Date.now();

  // ------------------------------------------------------------------ figures
  const lines: string[] = [];
  const say = (s = '') => lines.push(s);
  const crashed = (lab: Lab, r: Role) =>
    lab.nodes[r].proc.exitCode !== null || lab.nodes[r].proc.signalCode !== null || before[lab.impl].vrrpPid[r] !== after[lab.impl].vrrpPid[r];
  const vipEvents = (lab: Lab, r: Role) => lab.monitors[r].between(t0, t2).filter((l) => vipsOf(lab.lan).some((v) => l.includes(` ${v}/`))).length;
  const logLines = (lab: Lab, r: Role) => after[lab.impl].logLines[r] - before[lab.impl].logLines[r];
  const rssGrowthMb = (impl: Impl, r: Role) => ((after[impl].rssKb[r] ?? NaN) - (before[impl].rssKb[r] ?? NaN)) / 1024;
  const rssMaxGrowthMb = (impl: Impl, r: Role) => (Math.max(...rssSamples[impl][r], after[impl].rssKb[r] ?? 0) - (before[impl].rssKb[r] ?? NaN)) / 1024;
  const kernelDrops = (impl: Impl, r: Role) => after[impl].kernelDrops[r] - before[impl].kernelDrops[r];

  // ours: drops counted (instance reasons + socket reasons) vs drops expected
  const tsDelta = (r: Role, name: string, filter?: (l: string) => boolean) =>
    sumSeries(after.ts.ts?.[r], name, filter) - sumSeries(before.ts.ts?.[r], name, filter);
  const tsReasons = (r: Role) => {
    const out: Record<string, number> = {};
    for (const name of ['tskeepalived_vrrp_packet_errors_total', 'tskeepalived_vrrp_socket_drops_total']) {
      const a = byLabel(after.ts.ts?.[r], name, 'reason');
      const b = byLabel(before.ts.ts?.[r], name, 'reason');
      for (const k of Object.keys(a)) if (a[k] - (b[k] ?? 0) > 0) out[`${name.includes('socket') ? 'socket:' : ''}${k}`] = a[k] - (b[k] ?? 0);
    }
    return out;
  };
  const tsCounted = (r: Role) => tsDelta(r, 'tskeepalived_vrrp_packet_errors_total') + tsDelta(r, 'tskeepalived_vrrp_socket_drops_total');
  const tsTransitions = (r: Role) => tsDelta(r, 'tskeepalived_vrrp_became_master_total') + tsDelta(r, 'tskeepalived_vrrp_released_master_total');
  const kaSum = (r: Role, snap: Snapshot, keys: string[]) =>
    Object.values(snap.ka?.[r] ?? {}).reduce((n, inst) => n + keys.reduce((m, k) => m + (inst[k] ?? 0), 0), 0);
  const kaCounted = (r: Role) => kaSum(r, after.ka, KA_DROP_KEYS) - kaSum(r, before.ka, KA_DROP_KEYS);
  const kaTransitions = (r: Role) => kaSum(r, after.ka, ['Became master', 'Released master']) - kaSum(r, before.ka, ['Became master', 'Released master']);
  const kaReasons = (r: Role) => {
    const out: Record<string, number> = {};
    for (const k of KA_DROP_KEYS) {
      const d = kaSum(r, after.ka, [k]) - kaSum(r, before.ka, [k]);
      if (d > 0) out[k] = d;
    }
    return out;
  };

  // event loop: the windows that completed during the injection (first seen by a scrape)
  const loop = (r: Role) => {
    const seen = new Map<number, { t: number; p99: number; max: number }>();
    for (const s of scrapes()) {
      if (s.url !== scrapeUrls[ROLES.indexOf(r)] || !s.series) continue;
      const seq = s.series.tskeepalived_event_loop_delay_windows_total;
      if (!seen.has(seq))
        seen.set(seq, {
          t: s.t,
          p99: s.series['tskeepalived_event_loop_delay_seconds{quantile="0.99"}'] * 1000,
          max: s.series['tskeepalived_event_loop_delay_seconds{quantile="1"}'] * 1000,
        });
    }
    const during = [...seen.values()].filter((w) => w.t >= t0 + 5000 && w.t <= t1 + 1500);
    if (!during.length) return { windows: 0, p99Max: NaN, p99Median: NaN, max: NaN };
    return {
      windows: during.length,
      p99Max: Math.max(...during.map((w) => w.p99)),
      p99Median: pct(
        during.map((w) => w.p99),
        50,
      ),
      max: Math.max(...during.map((w) => w.max)),
    };
  };
  const gaps = (lab: Lab) => advertGaps(lab.tcpdump!.between(t0, t1).filter(Boolean));
  const gapText = (lab: Lab) =>
    Object.entries(gaps(lab))
      .map(([vrid, ms]) => `${vrid}:${fmt(ms)}`)
      .join(' ');
  const controlWindows = control.lines
    .filter((l) => l.text.startsWith('{'))
    .map((l) => JSON.parse(l.text) as { t: number; p99Ms: number; maxMs: number })
    .filter((w) => w.t >= t0 + 5000 && w.t <= t1 + 1500);

  say('');
  say(
    `=== hostile-packets: seed ${SEED}, ${tsReport.sent} (tskeepalived lab) / ${kaReport.sent} (keepalived lab) datagrams in ${fmt(tsReport.seconds, 1)} / ${fmt(kaReport.seconds, 1)} s ===`,
  );
  say(
    `datagrams by class (same sequence in both labs): ${Object.entries(tsReport.byClass)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  say(`send errors: tskeepalived lab ${tsReport.sendErrors}, keepalived lab ${kaReport.sendErrors}`);
  for (const r of ROLES) {
    const e = tsReport.expect[r];
    say(
      `expected at the ${r}: ${e.drop} reach its sockets and must be dropped, ${e.kernel} dropped by the kernel first, ${e.accept} valid replays (harmless), ${e.none} unicast to the other node`,
    );
  }
  say('');
  say('figure                                   | tskeepalived          | keepalived 2.2.7      | goal');
  const row = (name: string, ts: string, ka: string, goal: string) => say(`${name.padEnd(41)}| ${ts.padEnd(22)}| ${ka.padEnd(22)}| ${goal}`);
  const both = (f: (r: Role) => string) => `${f('master')} / ${f('backup')}`;
  row(
    'crashes (master / backup)',
    both((r) => (crashed(labs.ts, r) ? 'CRASH' : '0')),
    both((r) => (crashed(labs.ka, r) ? 'CRASH' : '0')),
    '0',
  );
  row(
    'state transitions (counters)',
    both((r) => String(tsTransitions(r))),
    both((r) => String(kaTransitions(r))),
    '0',
  );
  row(
    'VIP add/del events (netlink)',
    both((r) => String(vipEvents(labs.ts, r))),
    both((r) => String(vipEvents(labs.ka, r))),
    '0',
  );
  row(
    'drops expected at the sockets',
    both((r) => String(tsReport.expect[r].drop)),
    both((r) => String(kaReport.expect[r].drop)),
    '',
  );
  row(
    'drops counted by the daemon',
    both((r) => String(tsCounted(r))),
    both((r) => String(kaCounted(r))),
    '= expected',
  );
  row(
    'kernel raw-socket drops (v6 csum, full)',
    both((r) => String(kernelDrops('ts', r))),
    both((r) => String(kernelDrops('ka', r))),
    '0',
  );
  row(
    'RSS growth MB (after - before)',
    both((r) => fmt(rssGrowthMb('ts', r), 2)),
    both((r) => fmt(rssGrowthMb('ka', r), 2)),
    `< ${GOAL_RSS_MB}`,
  );
  row(
    'RSS max growth MB during the run',
    both((r) => fmt(rssMaxGrowthMb('ts', r), 2)),
    both((r) => fmt(rssMaxGrowthMb('ka', r), 2)),
    '',
  );
  const cpuPct = (impl: Impl, r: Role) => ((after[impl].cpuS[r] - before[impl].cpuS[r]) / ((after[impl].t - before[impl].t) / 1000)) * 100;
  const rssTrend = (impl: Impl, r: Role) => {
    const xs = rssSamples[impl][r];
    return [0.25, 0.5, 0.75, 1]
      .map((q) => fmt(((xs[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN) - (before[impl].rssKb[r] ?? NaN)) / 1024, 1))
      .join(' ');
  };
  row('RSS growth MB at 25/50/75/100% (master)', rssTrend('ts', 'master'), rssTrend('ka', 'master'), '');
  row('RSS growth MB at 25/50/75/100% (backup)', rssTrend('ts', 'backup'), rssTrend('ka', 'backup'), '');
  row(
    'CPU % of one core (run + 6 s)',
    both((r) => fmt(cpuPct('ts', r), 1)),
    both((r) => fmt(cpuPct('ka', r), 1)),
    '',
  );
  row(
    'event-loop delay p99 ms (worst window)',
    both((r) => fmt(loop(r).p99Max, 2)),
    'n/a (C, no event loop)',
    `< ${GOAL_LOOP_P99_MS}`,
  );
  row(
    'event-loop delay p99 ms (median window)',
    both((r) => fmt(loop(r).p99Median, 2)),
    'n/a',
    '',
  );
  row(
    'event-loop delay max ms',
    both((r) => fmt(loop(r).max, 1)),
    'n/a',
    '',
  );
  row('idle control process loop p99 ms (worst)', fmt(Math.max(...controlWindows.map((w) => w.p99Ms)), 2), 'same machine', 'contention');
  row(
    'idle control process loop p99 ms (median)',
    fmt(
      pct(
        controlWindows.map((w) => w.p99Ms),
        50,
      ),
      2,
    ),
    '',
    '',
  );
  row('longest gap between master adverts ms', gapText(labs.ts), gapText(labs.ka), '< 3000 (MDI)');
  row(
    'log lines written during the run',
    both((r) => String(logLines(labs.ts, r))),
    both((r) => String(logLines(labs.ka, r))),
    'bounded',
  );
  say(
    `(event-loop windows of 5 s inside the run: ${both((r) => String(loop(r).windows))}; calm p99 before the run: ${calmWindow.map((v) => fmt((v ?? NaN) * 1000, 2)).join(' / ')} ms)`,
  );
  say('');
  for (const r of ROLES) {
    say(
      `tskeepalived ${r} drops by reason: ${
        Object.entries(tsReasons(r))
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    say(
      `keepalived   ${r} drops by stats line: ${
        Object.entries(kaReasons(r))
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
  }
  for (const r of ROLES) {
    const per = Object.keys(after.ka.ka?.[r] ?? {}).map((inst) => {
      const d = (k: string) => (after.ka.ka?.[r][inst]?.[k] ?? 0) - (before.ka.ka?.[r][inst]?.[k] ?? 0);
      return `${inst} became master ${d('Became master')} released ${d('Released master')}`;
    });
    say(`keepalived   ${r} transitions by instance: ${per.join('; ')}`);
  }
  for (const r of ROLES)
    say(
      `expected drops at the ${r} by class: ${Object.entries(tsReport.expectDropByClass[r])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  const goals = {
    crashes: ROLES.every((r) => !crashed(labs.ts, r)),
    transitions: ROLES.every((r) => tsTransitions(r) === 0 && vipEvents(labs.ts, r) === 0),
    counted: ROLES.every((r) => tsCounted(r) === tsReport.expect[r].drop),
    rss: ROLES.every((r) => rssGrowthMb('ts', r) < GOAL_RSS_MB),
    // no complete 5 s window inside a short run: not measured, not met
    loop: ROLES.every((r) => loop(r).windows > 0 && loop(r).p99Max < GOAL_LOOP_P99_MS),
    logs: ROLES.every((r) => logLines(labs.ts, r) < 200),
  };
  // the same mutations through an in-process engine: heap retained (after a full GC) vs RSS,
  // with the -P daemon's heap tuning and with V8's defaults
  for (const variant of ['tuned as the -P daemon', 'V8 defaults']) {
    const args = [
      '--expose-gc',
      'dist/bench/soak/hostile-heap-probe.js',
      '--packets',
      String(PACKETS * 5),
      '--seed',
      String(SEED),
      ...(variant === 'V8 defaults' ? ['--untuned'] : []),
    ];
    say('');
    say(`heap probe, ${variant} (node ${args.join(' ')}):`);
    const probe = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const probeOut = new Output(probe);
    const probeTimer = setTimeout(() => probe.kill('SIGKILL'), 120_000);
    await new Promise((r) => probe.on('exit', r));
    clearTimeout(probeTimer);
    for (const l of probeOut.lines) say(`  ${l.text}`);
  }
  say('');
  say(
    `goals (tskeepalived): 0 crashes ${goals.crashes ? 'yes' : 'NO'}; 0 state changes ${goals.transitions ? 'yes' : 'NO'}; every drop counted ${goals.counted ? 'yes' : 'NO'}; RSS growth < ${GOAL_RSS_MB} MB ${goals.rss ? 'yes' : 'NO'}; event-loop p99 < ${GOAL_LOOP_P99_MS} ms ${goals.loop ? 'yes' : 'NO'}; log bounded (< 200 lines) ${goals.logs ? 'yes' : 'NO'}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  const keep = process.env.HOSTILE_KEEP_LOGS;
  if (keep)
    for (const lab of Object.values(labs)) {
      for (const r of ROLES) copyFileSync(lab.nodes[r].logFile, join(keep, `${lab.impl}-${r}.log`));
      writeFileSync(join(keep, `${lab.impl}-adverts.txt`), lab.tcpdump!.lines.map((l) => l.text).join('\n'));
    }
  for (const lab of Object.values(labs)) for (const r of ROLES) lab.nodes[r].proc.kill('SIGTERM');
  await sleep(1500);
  scraper.proc.kill('SIGKILL');
  cleanupAll();
  process.exitCode = Object.values(goals).every(Boolean) ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`hostile-packets: ${(e as Error).stack ?? e}\n`);
  cleanupAll();
  process.exit(2);
});
