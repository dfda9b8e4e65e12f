// The reload storm's lab: one bridge, a master (a) and its peer (b), a client (c) and three real
// servers (d, e, f); the daemons on a and b, a client sending a request every few ms to the VIP, and
// the watchers (a VIP sampler, the notify-fifo lines).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNameServer } from '../../test/lb-netns-util.js';
import { Lan, Node, startKeepalived } from '../../test/vrrp-helpers.js';

export type Engine = 'tskeepalived' | 'keepalived';

/** Namespace index of each role; the real servers' addresses are SUBNET.(index + 1). */
export const ROLE = { master: 0, peer: 1, client: 2, realServers: [3, 4, 5] } as const;
export const SUBNET = '10.216.0';

export function buildLab(): Lan {
  return new Lan(`tks-${process.pid}-rs`, 6, SUBNET, 'fd16:216');
}

/** The client's source address with --lb nftables: off the lab's subnet, so replies go back through the master. */
export const CLIENT_ROUTED_SOURCE = '192.168.216.3';

/**
 * NAT through the master (nftables DNAT): the client sends from CLIENT_ROUTED_SOURCE, the real
 * servers route it via the master, which forwards (redirects off: a redirect would let the real
 * servers answer the client directly, around the NAT). Inside the lab's namespaces only.
 */
export function routeThroughMaster(lan: Lan): void {
  const ns = (i: number) => lan.namespaces[i];
  const run = (args: string[]) => {
    const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  };
  run(['ip', '-n', ns(ROLE.client), 'addr', 'add', `${CLIENT_ROUTED_SOURCE}/32`, 'dev', 'eth0']);
  for (const k of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0'])
    run(['ip', 'netns', 'exec', ns(ROLE.master), 'sysctl', '-q', '-w', k]);
  run(['ip', '-n', ns(ROLE.master), 'route', 'add', `${CLIENT_ROUTED_SOURCE}/32`, 'via', lan.addr4(ROLE.client)]);
  for (const i of ROLE.realServers) {
    run(['ip', 'netns', 'exec', ns(i), 'sysctl', '-q', '-w', 'net.ipv4.conf.all.accept_redirects=0']);
    run(['ip', 'netns', 'exec', ns(i), 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.accept_redirects=0']);
    run(['ip', '-n', ns(i), 'route', 'add', '192.168.216.0/24', 'via', lan.addr4(ROLE.master)]);
  }
}

/** A TCP server on port 80 in each real-server namespace, answering its name; alive lifeMs at most. */
export async function startRealServers(lan: Lan, lifeMs: number): Promise<ChildProcess[]> {
  const out: ChildProcess[] = [];
  for (const i of ROLE.realServers) {
    const p = await startNameServer(lan.namespaces[i], `rs${i + 1}`, 80, lifeMs);
    lan.procs.push(p);
    out.push(p);
  }
  return out;
}

/** A daemon with its log lines, pid and notify-fifo output. */
export interface Daemon {
  node: Node;
  engine: Engine;
  fifoOut: string;
  /** the process holding the VRRP state (keepalived: its VRRP child) */
  vrrpPid(): number | undefined;
  /** tskeepalived's --json-dump file */
  jsonDump?: string;
}

/** lb: the LB backend of the node that balances (undefined: VRRP only) */
export function startDaemon(
  lan: Lan,
  engine: Engine,
  nsIndex: number,
  conf: string,
  tag: string,
  fifoOut: string,
  lb: 'userspace' | 'nftables' | undefined,
  nodeArgs: string[] = [],
): Daemon {
  if (engine === 'keepalived') {
    const node = startKeepalived(lan, nsIndex, conf, tag);
    return { node, engine, fifoOut, vrrpPid: node.vrrpPid };
  }
  const tmp = join(lan.dir, `${tag}-tmp`);
  mkdirSync(tmp, { recursive: true });
  const args = [
    '-n',
    '-l',
    '-G',
    '--json-dump',
    '-f',
    conf,
    '-p',
    join(lan.dir, `${tag}.pid`),
    '-r',
    join(lan.dir, `${tag}-vrrp.pid`),
    '-c',
    join(lan.dir, `${tag}-checkers.pid`),
  ];
  if (lb) args.push(`--lb-backend=${lb}`);
  else args.push('-P');
  const p = spawn('ip', ['netns', 'exec', lan.namespaces[nsIndex], process.execPath, ...nodeArgs, 'bin/tskeepalived', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
  });
  lan.procs.push(p);
  const node = new Node(p);
  return { node, engine, fifoOut, vrrpPid: () => p.pid, jsonDump: join(tmp, 'keepalived.json') };
}

export function fifoLines(d: Daemon): string[] {
  return existsSync(d.fifoOut) ? readFileSync(d.fifoOut, 'utf8').split('\n').filter(Boolean) : [];
}

export function rssKb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Addresses on eth0 of a namespace, asked every periodMs (one `ip` at a time). */
export class VipSampler {
  samples = 0;
  /** per address: samples it was absent from the namespace that should hold it */
  absent = new Map<string, number>();
  /** per address: samples the other namespace held it */
  heldElsewhere = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly holder: string,
    private readonly other: string,
    private readonly addresses: string[],
    private readonly periodMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void Promise.all([show(this.holder), show(this.other)]).then(([mine, theirs]) => {
        this.busy = false;
        if (!this.timer) return;
        this.samples++;
        for (const a of this.addresses) {
          if (!mine.includes(` ${a}/`)) this.absent.set(a, (this.absent.get(a) ?? 0) + 1);
          if (theirs.includes(` ${a}/`)) this.heldElsewhere.set(a, (this.heldElsewhere.get(a) ?? 0) + 1);
        }
      });
    }, this.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get totalAbsent(): number {
    return [...this.absent.values()].reduce((a, b) => a + b, 0);
  }
  get totalHeldElsewhere(): number {
    return [...this.heldElsewhere.values()].reduce((a, b) => a + b, 0);
  }
}

function show(ns: string): Promise<string> {
  return new Promise((resolve) => execFile('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'], { timeout: 2000 }, (_e, out) => resolve(String(out ?? ''))));
}

// Open loop: one TCP request every periodMs (not waiting for the previous one), each reading the
// server's name line within timeoutMs; on SIGTERM or after maxMs it prints a JSON summary and exits.
const CLIENT_JS = `
const net = require('net');
const a = JSON.parse(process.argv[1]);
const s = { sent: 0, ok: 0, replies: {}, failures: {}, firstFailures: [] };
let pending = 0;
function once() {
  s.sent++; pending++;
  const t0 = Date.now();
  const c = net.connect({ host: a.host, port: a.port, localAddress: a.localAddress });
  let buf = '', done = false;
  const finish = (r) => {
    if (done) return; done = true; pending--; clearTimeout(t); c.destroy();
    if (r.ok) { s.ok++; s.replies[r.v] = (s.replies[r.v] || 0) + 1; }
    else { s.failures[r.v] = (s.failures[r.v] || 0) + 1; if (s.firstFailures.length < 20) s.firstFailures.push({ at: t0, why: r.v }); }
  };
  const t = setTimeout(() => finish({ ok: false, v: 'timeout' }), a.timeoutMs);
  c.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0) finish({ ok: true, v: buf.slice(0, i) }); });
  c.on('error', (e) => finish({ ok: false, v: 'error:' + e.code }));
  c.on('end', () => finish({ ok: false, v: 'closed-without-reply' }));
}
const iv = setInterval(once, a.periodMs);
const end = () => { clearInterval(iv); const w = setInterval(() => { if (pending === 0 || Date.now() > stopAt) { clearInterval(w); process.stdout.write(JSON.stringify(s) + '\\n'); process.exit(0); } }, 20); let stopAt = Date.now() + a.timeoutMs + 200; };
process.on('SIGTERM', end);
setTimeout(end, a.maxMs);
`;

export interface ClientSummary {
  sent: number;
  ok: number;
  replies: Record<string, number>;
  failures: Record<string, number>;
  firstFailures: { at: number; why: string }[];
}

export class PacedClient {
  private readonly proc: ChildProcess;
  private out = '';
  private readonly done: Promise<ClientSummary | undefined>;

  constructor(lan: Lan, nsIndex: number, args: { host: string; port: number; periodMs: number; timeoutMs: number; maxMs: number; localAddress?: string }) {
    this.proc = spawn('ip', ['netns', 'exec', lan.namespaces[nsIndex], process.execPath, '-e', CLIENT_JS, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    lan.procs.push(this.proc);
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.done = new Promise((resolve) =>
      this.proc.on('exit', () => {
        try {
          resolve(JSON.parse(this.out.trim()) as ClientSummary);
        } catch {
          resolve(undefined);
        }
      }),
    );
  }

  /** Stop sending; resolves with the summary once the last requests ended. */
  stop(): Promise<ClientSummary | undefined> {
    this.proc.kill('SIGTERM');
    return this.done;
  }
}
