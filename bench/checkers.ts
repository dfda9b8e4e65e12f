// Benchmark of the checkers engine: V virtual servers x R real servers, HTTP_GET every delay_loop
// against real HTTP servers (a few node servers on 127.0.1.x, in their own process so their CPU is
// not counted). Reports the checker process's CPU seconds, peak RSS, checks/s and CPU per check,
// beside a floor measured in the same run: a bare loop doing the same HTTP requests with undici
// (fresh connection each, same pacing) and nothing else, also in its own process.
//
// The checker process runs as the daemon does: the engine applies its own V8 heap tuning when it
// starts (src/checkers/heap-tuning.ts; TSKEEPALIVED_V8_TUNING=off disables it), and the process gets
// whatever node flags bin/tskeepalived's "#!/usr/bin/env -S node ..." line would give the daemon
// (none at present). The floor runs with node's defaults. BENCH_NODE_FLAGS adds flags to both.
//
//   node dist/bench/checkers.js [--vs 2000] [--rs 10] [--delay 5] [--duration 60]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './checkers-config.js';

interface Args {
  vs: number;
  rs: number;
  delay: number;
  duration: number;
  role?: 'servers' | 'checker' | 'floor';
  targets?: string;
  /** the generated keepalived.conf the checker role loads */
  conf?: string;
}

function parse(argv: string[]): Args {
  const a: Args = { vs: 2000, rs: 10, delay: 5, duration: 60 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    const v = argv[++i];
    if (k === 'role') a.role = v as Args['role'];
    else if (k === 'targets') a.targets = v;
    else if (k === 'conf') a.conf = v;
    else if (k === 'vs' || k === 'rs' || k === 'delay' || k === 'duration') {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} needs a positive number, got '${v}'`);
      a[k] = n;
    } else throw new Error(`unknown option --${k}`);
  }
  return a;
}

interface Report {
  cpuSeconds: number;
  peakRssMB: number;
  checks: number;
  seconds: number;
  failures?: number;
  startupSeconds?: number;
  /** peak V8 heap (heapTotal) */
  peakHeapMB?: number;
  /** live heap (after a full GC) per real server at the end of the run: everything the process gained since it started */
  heapPerRs?: number;
  /** of which the configuration model (loadConfig of the generated keepalived.conf) */
  modelPerRs?: number;
}

/** a full GC without --expose-gc on the command line (which would change what is measured) */
async function gcFunction(): Promise<() => void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function send(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

// ---------------------------------------------------------------- role: servers

async function runServers(count: number): Promise<void> {
  const { createServer } = await import('node:http');
  const targets: { address: string; port: number }[] = [];
  for (let k = 1; k <= count; k++) {
    const address = `127.0.1.${k}`;
    const srv = createServer((_req, res) => res.end('ok\n'));
    srv.keepAliveTimeout = 1000;
    await new Promise<void>((r) => srv.listen(0, address, 4096, () => r()));
    targets.push({ address, port: (srv.address() as { port: number }).port });
  }
  send({ targets });
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------- measuring

function sampler(): { peakMB: () => number; peakHeapMB: () => number; stop: () => void } {
  let peak = process.memoryUsage.rss();
  let heap = 0;
  let n = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    if (++n % 8 === 0) heap = Math.max(heap, process.memoryUsage().heapTotal);
  }, 250);
  return { peakMB: () => Math.max(peak, process.memoryUsage.rss()) / 1048576, peakHeapMB: () => heap / 1048576, stop: () => clearInterval(t) };
}

// ---------------------------------------------------------------- role: checker

async function runChecker(a: Args, targets: { address: string; port: number }[]): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const mem = sampler();
  // as the daemon: the checkers' heap tuning is applied before the configuration is built
  const { tuneHeapForCheckers } = await import('../src/checkers/heap-tuning.js');
  tuneHeapForCheckers();
  const pino = (await import('pino')).default;
  const { CheckersEngine } = await import('../src/checkers/engine.js');
  const { loadConfig } = await import('../src/config/load.js');
  const gc = await gcFunction();
  const live = (): number => {
    // three full collections: with two, what survives is split between readings less steadily
    gc();
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  // warm-up on a one-real-server configuration, so that code compiled once and modules loaded
  // (fixed costs) are not counted per real server
  const warmConf = `${a.conf!}.warm`;
  writeFileSync(warmConf, benchConfig(1, 1, a.delay, targets));
  const warm = new CheckersEngine({
    backend: { name: 'dry-run', open: async () => undefined, apply: async () => undefined, current: () => ({ services: [] }), close: async () => undefined },
    logger: pino({ level: 'warn' }),
  });
  await warm.start(loadConfig(warmConf, { checkInterfaces: false, configId: 'bench' }).config as never);
  await warm.stop({ release: true });
  const heap0 = live();
  // as the daemon: the model from keepalived.conf (loadConfig), then the engine on it
  const loaded = loadConfig(a.conf!, { checkInterfaces: false, configId: 'bench' });
  if (loaded.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal'))
    throw new Error(`bench config: ${loaded.diagnostics.map((d) => d.message).join('; ')}`);
  const config = loaded.config;
  const nRs = a.vs * a.rs;
  const modelPerRs = (live() - heap0) / nRs;
  // the lb helper's dry-run backend when present (printing to nowhere), otherwise a recording no-op
  let applies = 0;
  let backend: import('../src/lb/backend.js').LbBackend;
  try {
    const modPath = '../src/lb/dry-run.js';
    const mod = (await import(modPath)) as { DryRunBackend: new (o: unknown) => import('../src/lb/backend.js').LbBackend };
    backend = new mod.DryRunBackend({ out: { write: () => true } });
  } catch {
    let last = { services: [] } as import('../src/lb/backend.js').LbState;
    backend = {
      name: 'dry-run',
      open: async () => undefined,
      apply: async (s) => {
        applies++;
        last = s;
      },
      current: () => last,
      close: async () => undefined,
    };
  }
  const engine = new CheckersEngine({ backend, logger: pino({ level: 'warn' }) });
  await engine.start(config as never);
  const startupSeconds = (Date.now() - t0) / 1000;
  const cpuStart = process.cpuUsage();
  const tStart = Date.now();
  const totals = () => {
    let checks = 0;
    let failures = 0;
    for (const m of engine.metrics()) {
      if (m.name === 'tskeepalived_real_server_checks_total') checks += m.value;
      if (m.name === 'tskeepalived_real_server_check_failures_total') failures += m.value;
    }
    return { checks, failures };
  };
  const before = totals();
  await new Promise((r) => setTimeout(r, a.duration * 1000));
  const cpu = process.cpuUsage(cpuStart);
  // live heap per real server: what the process holds at the end of the run (model, engine, checks
  // in flight, the dry-run backend's state) over what it held before reading the configuration
  const heapPerRs = (live() - heap0) / nRs;
  const after = totals();
  const seconds = (Date.now() - tStart) / 1000;
  // why checks failed (last reason of each real server that has failures), for the report
  const reasons: Record<string, number> = {};
  const snap = engine.snapshot() as { virtualServers: { realServers: { checkers: { failures: number; lastReason?: string }[] }[] }[] };
  for (const v of snap.virtualServers)
    for (const r of v.realServers)
      for (const c of r.checkers)
        if (c.failures > 0) {
          const k = (c.lastReason ?? '?').replace(/\d+/g, 'N');
          reasons[k] = (reasons[k] ?? 0) + 1;
        }
  await engine.stop({ release: true });
  mem.stop();
  void cpu0;
  const report: Report = {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMB: mem.peakMB(),
    checks: after.checks - before.checks,
    failures: after.failures - before.failures,
    seconds,
    startupSeconds,
    peakHeapMB: mem.peakHeapMB(),
    heapPerRs,
    modelPerRs,
  };
  send({ ...report, applies: applies || engine.applyCount, failureReasons: reasons });
  process.exit(0);
}

// ---------------------------------------------------------------- role: floor

async function runFloor(a: Args, targets: { address: string; port: number }[]): Promise<void> {
  const mem = sampler();
  const { Agent } = await import('undici');
  const agent = new Agent({ pipelining: 1, keepAliveTimeout: 1, headersTimeout: 3000, bodyTimeout: 3000, connect: { timeout: 3000 } });
  const n = a.vs * a.rs;
  const delay = a.delay * 1000;
  let checks = 0;
  let failures = 0;
  let running = true;
  const timers = new Set<NodeJS.Timeout>();
  const one = async (t: { address: string; port: number }) => {
    // the same request the checker makes: a fresh connection (Connection: close), the body read
    try {
      const res = await agent.request({
        origin: `http://${t.address}:${t.port}`,
        method: 'GET',
        path: '/health',
        headers: { host: `${t.address}:${t.port}`, connection: 'close' },
        reset: true,
      });
      for await (const _ of res.body) void _;
      if (res.statusCode < 200 || res.statusCode > 299) failures++;
    } catch {
      failures++;
    }
    checks++;
  };
  // the same bound on requests in flight as the engine's (maxConcurrentChecks, default 256)
  const { Limiter } = await import('../src/checkers/limiter.js');
  const limiter = new Limiter(256);
  const loop = (i: number, wait: number) => {
    const timer = setTimeout(async () => {
      timers.delete(timer);
      if (!running) return;
      const w = limiter.acquire();
      if (w) await w;
      await one(targets[i % a.rs]);
      limiter.release();
      if (running) loop(i, delay);
    }, wait);
    timers.add(timer);
  };
  const cpuStart = process.cpuUsage();
  const tStart = Date.now();
  for (let i = 0; i < n; i++) loop(i, (i / n) * delay);
  await new Promise((r) => setTimeout(r, a.duration * 1000));
  running = false;
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (Date.now() - tStart) / 1000;
  for (const t of timers) clearTimeout(t);
  mem.stop();
  send({ cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMB: mem.peakMB(), peakHeapMB: mem.peakHeapMB(), checks, failures, seconds } satisfies Report);
  process.exit(0);
}

// ---------------------------------------------------------------- orchestration

/**
 * The node flags the daemon runs with: those of bin/tskeepalived's "#!/usr/bin/env -S node ..." line,
 * so the checker side of the bench measures what ships.
 */
export function shippedNodeFlags(): string[] {
  const bin = fileURLToPath(new URL('../../bin/tskeepalived', import.meta.url));
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0];
  const m = /^#!\S*env\s+-S\s+node\s+(.*)$/.exec(first);
  return m ? m[1].split(/\s+/).filter((f) => f.startsWith('--')) : [];
}

function child(args: string[], nodeFlags: string[] = []): { lines: AsyncIterableIterator<string>; proc: import('node:child_process').ChildProcess } {
  const self = fileURLToPath(import.meta.url);
  const flags = [...nodeFlags, ...(process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
  const proc = spawn(process.execPath, [...flags, self, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: string[] = [];
  const waiters: ((v: IteratorResult<string>) => void)[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w({ value: line, done: false });
      else queue.push(line);
    }
  });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w({ value: undefined, done: true });
  });
  const lines: AsyncIterableIterator<string> = {
    next: () => (queue.length ? Promise.resolve({ value: queue.shift()!, done: false }) : new Promise((r) => waiters.push(r))),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { lines, proc };
}

/**
 * keepalived's checker process on the same configuration. Without kernel IPVS (these machines) its
 * checker child reads the whole configuration, builds its real servers and checkers, and exits at
 * "IPVS: Can't initialize ipvs": its peak RSS is then its model, measured as the peak RSS of the
 * keepalived processes (getrusage of the waited children) on the bench config minus that on one real
 * server. Run as root in a throwaway network namespace (no check traffic leaves it; none starts).
 */
function keepalivedModelPerRs(dir: string, conf: string, a: Args): { peakMB: number; baseMB: number; perRs: number; note: string } | undefined {
  if (!existsSync('/usr/sbin/keepalived') || process.getuid?.() !== 0) return undefined;
  const ns = `tkp-bck-${process.pid}`;
  const small = join(dir, 'one.conf');
  writeFileSync(small, benchConfig(1, 1, a.delay, [{ address: '127.0.0.1', port: 8080 }]));
  const wrap = [
    'import resource, subprocess, sys',
    'p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)',
    'sys.stdout.write("%d %d\\n" % (p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))',
  ].join('\n');
  const peak = (file: string): number => {
    const r = spawnSync(
      'python3',
      ['-c', wrap, 'ip', 'netns', 'exec', ns, 'keepalived', '-C', '-n', '-l', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'kc.pid')],
      { encoding: 'utf8', timeout: 150_000 },
    );
    const m = /^(-?\d+) (\d+)/.exec(r.stdout ?? '');
    if (!m) throw new Error(`keepalived run failed: ${r.stderr}`);
    return Number(m[2]) * 1024;
  };
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const base = peak(small);
    const full = peak(conf);
    const n = a.vs * a.rs;
    return {
      peakMB: full / 1048576,
      baseMB: base / 1048576,
      perRs: (full - base) / n,
      note: 'its checker process exits at IPVS init on this kernel: model only',
    };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  if (a.role === 'servers') return runServers(a.rs);
  if (a.role === 'checker') return runChecker(a, JSON.parse(a.targets!));
  if (a.role === 'floor') return runFloor(a, JSON.parse(a.targets!));

  const common = ['--vs', String(a.vs), '--rs', String(a.rs), '--delay', String(a.delay), '--duration', String(a.duration)];
  const servers = child(['--role', 'servers', ...common]);
  const { targets } = JSON.parse((await servers.lines.next()).value) as { targets: { address: string; port: number }[] };
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tkp-bench-checkers-'));
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, benchConfig(a.vs, a.rs, a.delay, targets));
  const run = async (role: 'checker' | 'floor', args: string[]): Promise<Report> => {
    const c = child(['--role', role, ...args, '--targets', JSON.stringify(targets), '--conf', conf], role === 'checker' ? checkerFlags : []);
    const r = await c.lines.next();
    if (r.done) throw new Error(`${role} process ended without a report`);
    return JSON.parse(r.value) as Report;
  };
  // the machine is shared: checker and floor phases alternate (rounds) so drifting background load
  // weighs on both alike; figures are summed over the rounds, peak RSS is the maximum
  // the checker runs with the daemon's node flags (bin/tskeepalived); the floor with node's defaults
  const checkerFlags = shippedNodeFlags();
  const rounds = a.duration >= 40 ? 3 : 1;
  const per = a.duration / rounds;
  process.stdout.write(
    `checkers bench: ${a.vs} virtual servers x ${a.rs} real servers, HTTP_GET, delay_loop ${a.delay} s, ${a.duration} s per side in ${rounds} round(s)\n`,
  );
  process.stdout.write(
    `checker node flags (from bin/tskeepalived): ${checkerFlags.join(' ') || '(none)'}; floor: node defaults${process.env.BENCH_NODE_FLAGS ? `; both + BENCH_NODE_FLAGS ${process.env.BENCH_NODE_FLAGS}` : ''}\n`,
  );
  const sum = (x: Report | undefined, y: Report): Report => ({
    cpuSeconds: (x?.cpuSeconds ?? 0) + y.cpuSeconds,
    peakRssMB: Math.max(x?.peakRssMB ?? 0, y.peakRssMB),
    checks: (x?.checks ?? 0) + y.checks,
    failures: (x?.failures ?? 0) + (y.failures ?? 0),
    seconds: (x?.seconds ?? 0) + y.seconds,
    startupSeconds: y.startupSeconds,
    peakHeapMB: Math.max(x?.peakHeapMB ?? 0, y.peakHeapMB ?? 0),
    heapPerRs: Math.max(x?.heapPerRs ?? 0, y.heapPerRs ?? 0),
    modelPerRs: y.modelPerRs,
    ...((y as { failureReasons?: unknown }).failureReasons ? { failureReasons: (y as { failureReasons?: unknown }).failureReasons } : {}),
  });
  let checker: Report | undefined;
  let floor: Report | undefined;
  const perArgs = ['--vs', String(a.vs), '--rs', String(a.rs), '--delay', String(a.delay), '--duration', String(per)];
  for (let r = 0; r < rounds; r++) {
    checker = sum(checker, await run('checker', perArgs));
    floor = sum(floor, await run('floor', perArgs));
  }
  if (!checker || !floor) throw new Error('no rounds');
  servers.proc.stdin!.end();
  const ka = keepalivedModelPerRs(dir, conf, a);
  rmSync(dir, { recursive: true, force: true });
  const perCheck = (r: Report) => (r.checks ? (r.cpuSeconds / r.checks) * 1e6 : NaN);
  const row = (name: string, r: Report) =>
    `${name.padEnd(8)} cpu ${r.cpuSeconds.toFixed(2).padStart(7)} s  peak rss ${r.peakRssMB.toFixed(0).padStart(4)} MB (heap ${(r.peakHeapMB ?? 0).toFixed(0)})  checks ${String(r.checks).padStart(7)}  ${(r.checks / r.seconds).toFixed(0).padStart(5)} checks/s  ${perCheck(r).toFixed(1).padStart(6)} us cpu/check  failures ${r.failures ?? 0}`;
  process.stdout.write(row('checker', checker) + `  (startup ${checker.startupSeconds?.toFixed(1)} s)\n`);
  process.stdout.write(row('floor', floor) + '\n');
  const ratio = perCheck(checker) / perCheck(floor);
  process.stdout.write(`cpu per check: ${ratio.toFixed(2)} x floor (target <= 1.3); checker peak rss ${checker.peakRssMB.toFixed(0)} MB (target <= 150)\n`);
  const n = a.vs * a.rs;
  process.stdout.write(
    `live heap per real server: ${checker.heapPerRs?.toFixed(0)} B (model ${checker.modelPerRs?.toFixed(0)} B, engine and checks ${((checker.heapPerRs ?? 0) - (checker.modelPerRs ?? 0)).toFixed(0)} B; target <= 1024); peak rss per real server ${((checker.peakRssMB * 1048576) / n).toFixed(0)} B\n`,
  );
  process.stdout.write(
    ka
      ? `keepalived -C on the same keepalived.conf: peak rss ${ka.peakMB.toFixed(1)} MB, ${ka.perRs.toFixed(0)} B per real server over its ${ka.baseMB.toFixed(1)} MB on one real server (${ka.note})\n`
      : 'keepalived: not measured (not installed or not root)\n',
  );
  process.stdout.write(JSON.stringify({ checker, floor, ratio, keepalived: ka }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(1);
});
