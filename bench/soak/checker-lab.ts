// The checker soaks' lab: network namespaces named tks-<pid>-..., the fault servers, tskeepalived
// and keepalived 2.2.7 running their health checkers on the same servers, each daemon's real
// server transitions as timed events, and /proc samples (fds, RSS) of their processes.
//
// keepalived's checker process refuses to run without kernel IPVS (none here): it runs with an
// LD_PRELOAD shim (bench/soak/ipvs-sockopt-shim.c, built here with cc) answering IPVS's socket
// options as an empty IPVS would and logging each real server keepalived adds or removes with its
// time; keepalived's checker code itself runs unmodified. tskeepalived runs with
// --lb-backend=userspace (its in-process proxy), reporting transitions in its JSON log records.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Mode } from './fault-servers.js';
import { readPid } from '../../src/daemon/pidfile.js';
import { pct } from '../watch.js';

const here = dirname(fileURLToPath(import.meta.url));
/** the repository root (this file runs from dist/bench/soak) */
export const ROOT = join(here, '..', '..', '..');
const TSKEEPALIVED = join(ROOT, 'bin', 'tskeepalived');
const SHIM_SOURCE = join(ROOT, 'bench', 'soak', 'ipvs-sockopt-shim.c');
const FAULT_SERVERS = join(here, 'fault-servers.js');
export const NFT_TABLE = 'tksckf';
/** ephemeral ports in the lab's namespaces; servers listen below */
const EPHEMERAL_PORTS = '50000 65000';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout ?? '';
}

/** Flags: --name value (numbers), with defaults; unknown flags are an error. */
export function parseFlags<T extends Record<string, number>>(argv: string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in defaults))
      throw new Error(
        `unknown option ${argv[i]} (known: ${Object.keys(defaults)
          .map((x) => `--${x}`)
          .join(' ')})`,
      );
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} needs a non-negative number, got '${argv[i]}'`);
    out[k] = v;
  }
  return out as T;
}

// ------------------------------------------------------------------ the lab: namespaces, processes

export class Lab {
  readonly prefix: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'tks-ckf-'));
  readonly namespaces: string[] = [];
  readonly procs: ChildProcess[] = [];
  /** more teardown (e.g. a test/vrrp-helpers Lan), run after the processes are killed */
  readonly teardown: (() => void)[] = [];
  private cleaned = false;

  constructor(tag: string) {
    this.prefix = `tks-${process.pid}-${tag}`;
    const bye = () => {
      this.cleanup();
      process.exit(130);
    };
    process.once('SIGINT', bye);
    process.once('SIGTERM', bye);
    process.once('exit', () => this.cleanup());
  }

  /** A namespace with lo up and the nftables blackhole set (new connections' SYNs to its ports are dropped). */
  namespace(name: string): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    this.prepare(ns);
    return ns;
  }

  /** What every lab namespace needs for the servers: ephemeral ports above theirs, the blackhole set. */
  prepare(ns: string): void {
    // the checkers' ephemeral ports must not take a server's port (a refused server listens again)
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.ip_local_port_range=${EPHEMERAL_PORTS}`]);
    const rules = `table inet ${NFT_TABLE} {\n set blackhole { type inet_service; }\n chain input { type filter hook input priority -10; tcp dport @blackhole tcp flags & (syn | ack) == syn drop; }\n}\n`;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: rules, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft in ${ns}: ${r.stderr}`);
  }

  spawn(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, stdio: ('pipe' | 'ignore')[] = ['pipe', 'pipe', 'pipe']): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: stdio as ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.procs.push(p);
    return p;
  }

  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null && p.pid) {
        try {
          p.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    // keepalived's children (checkers, vrrp) are in the namespaces: kill what is left there by pid
    for (const ns of this.namespaces) {
      for (const pid of sh('ip', ['netns', 'pids', ns], true).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of this.namespaces) sh('ip', ['netns', 'del', ns], true);
    for (const t of this.teardown) t();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The IPVS shim for keepalived, compiled into the lab's directory. */
  buildShim(): string {
    const out = join(this.dir, 'ipvs-sockopt-shim.so');
    sh('cc', ['-shared', '-fPIC', '-O2', '-o', out, SHIM_SOURCE, '-ldl']);
    return out;
  }
}

/** Leftovers of an earlier run of these benches that was killed hard (namespaces tks-<dead pid>-ckf*). */
export function removeStaleNamespaces(tags: string[]): void {
  for (const line of sh('ip', ['netns', 'list'], true).split('\n')) {
    const name = line.split(' ')[0];
    const m = /^tks-(\d+)-(\w+)/.exec(name ?? '');
    if (!m || !tags.some((t) => m[2].startsWith(t))) continue;
    if (existsSync(`/proc/${m[1]}`)) continue;
    sh('ip', ['netns', 'del', name], true);
  }
}

// ------------------------------------------------------------------ fault servers

export class FaultServers {
  private next = 1;
  private readonly waiting = new Map<number, (r: Record<string, unknown>) => void>();
  readonly ready: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    let readyResolve!: () => void;
    this.ready = new Promise((r) => (readyResolve = r));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { id: number } & Record<string, unknown>;
      if (m.id === 0) return readyResolve();
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }

  static start(lab: Lab, ns: string, env: NodeJS.ProcessEnv = {}): FaultServers {
    const p = lab.spawn(ns, process.execPath, [FAULT_SERVERS], { TKS_NFT_TABLE: NFT_TABLE, ...env }, ['pipe', 'pipe', 'inherit' as 'pipe']);
    return new FaultServers(p);
  }

  request(cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`fault servers did not answer ${JSON.stringify(cmd).slice(0, 80)}`)), timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(t);
        if (typeof r.error === 'string') reject(new Error(r.error));
        else resolve(r);
      });
      this.proc.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
    });
  }

  async listen(ports: number[]): Promise<void> {
    for (let i = 0; i < ports.length; i += 500) await this.request({ op: 'listen', ports: ports.slice(i, i + 500) });
  }

  /** Switch ports to a mode; resolves with the epoch ms at which the switch was in place. */
  async mode(ports: number[], mode: Mode): Promise<number> {
    return (await this.request({ op: 'mode', ports, mode })).at as number;
  }

  async flap(ports: number[], faults: Mode[], periodMs: number): Promise<void> {
    await this.request({ op: 'flap', ports, faults, periodMs });
  }

  async get(url: string): Promise<{ status: number; body: string }> {
    return (await this.request({ op: 'get', url })) as unknown as { status: number; body: string };
  }

  async stats(): Promise<{ held: number; requests: number; connections: number; flips: number }> {
    return (await this.request({ op: 'stats' })) as unknown as { held: number; requests: number; connections: number; flips: number };
  }

  stop(): void {
    this.proc.stdin!.end();
  }
}

// ------------------------------------------------------------------ daemons

/** A real server going down or up in a daemon's view: "ip:port", epoch ms. */
export interface Transition {
  rs: string;
  up: boolean;
  at: number;
}

export interface Daemon {
  readonly name: 'tskeepalived' | 'keepalived';
  /** the process doing the health checks (keepalived: its checker child) */
  checkerPid(): number | undefined;
  /** every process of the daemon (keepalived: parent and children) */
  pids(): number[];
  transitions: Transition[];
  exited: boolean;
  exitCode(): number | null;
  stop(): Promise<void>;
  /** the last lines of its output, for a failure report */
  tail(): string;
}

function stopProcess(p: ChildProcess, ms = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

class Ring {
  private lines: string[] = [];
  push(l: string): void {
    this.lines.push(l);
    if (this.lines.length > 40) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** "[127.0.0.1]:tcp:20001" -> "127.0.0.1:20001" */
function ourRsKey(text: string): string {
  const m = /^\[([^\]]+)\]:\w+:(\d+)$/.exec(text);
  return m ? `${m[1]}:${m[2]}` : text;
}

/**
 * tskeepalived (bin/tskeepalived -n -G, JSON log records on stdout), the load balancer its
 * userspace backend, the status endpoint on 127.0.0.1:statusPort inside the namespace.
 */
export function startOurs(lab: Lab, ns: string, name: string, conf: string, extra: string[], statusPort: number): Daemon {
  const pidFile = join(lab.dir, `${name}.pid`);
  const args = [TSKEEPALIVED, '-n', '-G', '-f', conf, '-p', pidFile, '--lb-backend=userspace', `--status-listen=127.0.0.1:${statusPort}`, ...extra];
  const p = lab.spawn(ns, process.execPath, args);
  const ring = new Ring();
  const d: Daemon = {
    name: 'tskeepalived',
    checkerPid: () => p.pid,
    pids: () => (p.pid ? [p.pid] : []),
    transitions: [],
    exited: false,
    exitCode: () => p.exitCode,
    stop: () => stopProcess(p),
    tail: () => ring.text(),
  };
  p.on('exit', () => (d.exited = true));
  createInterface({ input: p.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    let rec: { msg?: string; time?: number; rs?: string; level?: number };
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if (rec.msg === 'real server down' || rec.msg === 'real server up')
      d.transitions.push({ rs: ourRsKey(rec.rs ?? ''), up: rec.msg === 'real server up', at: rec.time ?? Date.now() });
    else if ((rec.level ?? 0) >= 40) ring.push(line.slice(0, 400));
  });
  createInterface({ input: p.stderr! }).on('line', (line) => ring.push(line.slice(0, 400)));
  return d;
}

/**
 * keepalived 2.2.7 in the foreground with the IPVS shim; its real server changes read from the
 * shim's log (timed when keepalived made them).
 */
export function startKeepalived(lab: Lab, ns: string, name: string, conf: string, shim: string, flags: string[]): Daemon {
  const pidFile = join(lab.dir, `${name}.pid`);
  const checkersPid = join(lab.dir, `${name}-checkers.pid`);
  const vrrpPid = join(lab.dir, `${name}-vrrp.pid`);
  const ipvsLog = join(lab.dir, `${name}-ipvs.log`);
  const p = lab.spawn(ns, 'keepalived', ['-n', '-l', ...flags, '-f', conf, '-p', pidFile, '-c', checkersPid, '-r', vrrpPid], {
    LD_PRELOAD: shim,
    TKS_IPVS_LOG: ipvsLog,
  });
  const ring = new Ring();
  createInterface({ input: p.stdout! }).on('line', (l) => ring.push(l.slice(0, 400)));
  createInterface({ input: p.stderr! }).on('line', (l) => ring.push(l.slice(0, 400)));
  const d: Daemon = {
    name: 'keepalived',
    checkerPid: () => readPid(checkersPid),
    pids: () => [p.pid, readPid(checkersPid), readPid(vrrpPid)].filter((x): x is number => x !== undefined && existsSync(`/proc/${x}`)),
    transitions: [],
    exited: false,
    exitCode: () => p.exitCode,
    stop: async () => {
      clearInterval(tailer);
      await stopProcess(p);
    },
    tail: () => ring.text(),
  };
  p.on('exit', () => (d.exited = true));
  // tail the shim's log
  let offset = 0;
  let partial = '';
  const buf = Buffer.alloc(1 << 20);
  const tailer = setInterval(() => {
    if (!existsSync(ipvsLog)) return;
    const fd = openSync(ipvsLog, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        const text = partial + buf.toString('latin1', 0, n);
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          const [t, op, rs] = l.split(' ');
          if (op === 'add' || op === 'del') d.transitions.push({ rs, up: op === 'add', at: Number(t) * 1000 });
        }
      }
    } finally {
      closeSync(fd);
    }
  }, 50);
  return d;
}

// ------------------------------------------------------------------ process samples

export interface ProcSample {
  fds: number;
  rssKB: number;
}

export function procSample(pids: number[]): ProcSample {
  let fds = 0;
  let rssKB = 0;
  for (const pid of pids) {
    try {
      fds += readdirSync(`/proc/${pid}/fd`).length;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rssKB += m ? Number(m[1]) : 0;
    } catch {
      /* exited */
    }
  }
  return { fds, rssKB };
}

/** Active libuv resources by type from tskeepalived's /metrics (process_active_resources). */
export function activeResources(metricsText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsText.matchAll(/^process_active_resources\{type="([^"]+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

// ------------------------------------------------------------------ figures

export const median = (v: number[]) => pct(v, 50);

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------ keepalived.conf for both daemons

export interface CheckTiming {
  /** seconds */
  delayLoop: number;
  connectTimeout: number;
  retry: number;
  delayBeforeRetry: number;
}

export interface ServerGroup {
  /** the virtual server 127.0.0.1:vsPort */
  vsPort: number;
  check: 'HTTP_GET' | 'TCP_CHECK';
  /** real servers 127.0.0.1:port */
  ports: number[];
  timing: CheckTiming;
}

/** MD5 of the healthy body (HTTP_GET digest) */
export const OK_DIGEST = 'eff5bc1ef8ec9d03e640fc4370f5eacd';

/** One keepalived.conf that both daemons run (virtual servers only, unless `vrrp` text is given). */
export function checkersConf(routerId: string, groups: ServerGroup[], vrrp = ''): string {
  const out: string[] = ['global_defs {', `  router_id ${routerId}`, '}', vrrp];
  for (const g of groups) {
    const t = g.timing;
    out.push(`virtual_server 127.0.0.1 ${g.vsPort} {`, `  delay_loop ${t.delayLoop}`, '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
    for (const port of g.ports) {
      out.push(`  real_server 127.0.0.1 ${port} {`, '    weight 1', `    ${g.check} {`);
      if (g.check === 'HTTP_GET') out.push('      url {', '        path /health', `        digest ${OK_DIGEST}`, '        status_code 200', '      }');
      out.push(`      connect_timeout ${t.connectTimeout}`, `      retry ${t.retry}`, `      delay_before_retry ${t.delayBeforeRetry}`, '    }', '  }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}
