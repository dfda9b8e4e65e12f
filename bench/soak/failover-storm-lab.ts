// The failover storm's lab: two VRRP nodes and one client on a bridge (test/vrrp-helpers' Lan),
// watched from outside the daemons: who holds the VIP (netlink address monitors in the node
// namespaces), which gratuitous ARPs reach the client (tcpdump in the client namespace), and a
// UDP client asking the VIP every 20 ms for the name of the node that answers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sh, type Lan } from '../../test/vrrp-helpers.js';

/** Lines of a long-running process, each with the time it arrived. */
export class LineStream {
  readonly lines: { t: number; text: string }[] = [];
  private buf = '';
  constructor(
    readonly proc: ChildProcess,
    onLine?: (text: string, t: number) => void,
  ) {
    proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      const t = Date.now();
      for (const text of parts) {
        if (onLine) onLine(text, t);
        else this.lines.push({ t, text });
      }
    });
    proc.on('error', () => undefined);
  }
  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
  }
}

/** epoch ms of an `ip -ts monitor` line "[2026-12-04T16:56:54.123456] ..." (local time) */
function monitorTime(line: string): number | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\]/.exec(line);
  return m ? Date.parse(m[1]) + Number(`0.${m[2]}`) * 1000 : undefined;
}

export interface OwnerSegment {
  start: number;
  end: number;
  owners: number[];
}

/**
 * Who holds the VIP, from the kernel's own address notifications in each node namespace
 * (`ip -ts monitor address`): every change is timestamped by the kernel's netlink event, so the
 * 0-owner and 2-owner intervals are exact to the event, not to a polling period.
 */
export class VipOwners {
  readonly segments: OwnerSegment[] = [];
  /** every time a node gained the VIP, and every time one lost it */
  readonly gains: { t: number; node: number }[] = [];
  readonly losses: { t: number; node: number }[] = [];
  private readonly owners = new Set<number>();
  private since = Date.now();
  private readonly monitors: LineStream[] = [];

  constructor(
    readonly lan: Lan,
    readonly nodes: number[],
    readonly vip: string,
  ) {
    for (const node of nodes) {
      const re = new RegExp(`^(\\[[^\\]]+\\]\\s*)?(Deleted )?.*\\binet ${vip.replace(/\./g, '\\.')}/`);
      const proc = spawn('ip', ['-ts', '-n', lan.namespaces[node], 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
      lan.procs.push(proc);
      this.monitors.push(
        new LineStream(proc, (text, arrived) => {
          const m = re.exec(text);
          if (m) this.set(node, m[2] === undefined, monitorTime(text) ?? arrived);
        }),
      );
    }
    for (const node of nodes) if (lan.hasAddress(node, vip)) this.set(node, true, Date.now());
  }

  private set(node: number, has: boolean, t: number): void {
    if (has === this.owners.has(node)) return;
    t = Math.max(t, this.since);
    this.segments.push({ start: this.since, end: t, owners: [...this.owners] });
    if (has) {
      this.owners.add(node);
      this.gains.push({ t, node });
    } else {
      this.owners.delete(node);
      this.losses.push({ t, node });
    }
    this.since = t;
  }

  current(): number[] {
    return [...this.owners].sort();
  }

  /** the segments up to now, the open one closed at `now` */
  timeline(now = Date.now()): OwnerSegment[] {
    return [...this.segments, { start: this.since, end: now, owners: this.current() }];
  }

  /** Resolves true once `pred` has held continuously for `stableMs`, false after `timeoutMs`. */
  async waitStable(pred: (owners: number[]) => boolean, stableMs: number, timeoutMs: number): Promise<number | undefined> {
    const start = Date.now();
    let heldSince: number | undefined;
    for (;;) {
      const now = Date.now();
      if (pred(this.current())) {
        heldSince ??= now;
        if (now - heldSince >= stableMs) return Math.max(this.since, heldSince - 20);
      } else heldSince = undefined;
      if (now - start > timeoutMs) return undefined;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Ask the kernel directly (not the monitor) which nodes hold the VIP now. */
  snapshot(): number[] {
    return this.nodes.filter((n) => this.lan.hasAddress(n, this.vip));
  }

  stop(): void {
    for (const m of this.monitors) m.stop();
  }
}

/** Gratuitous ARPs for the VIP as the client sees them: who-has VIP tell VIP, or an ARP reply for it. */
export class GarpCapture {
  readonly garps: { t: number; mac: string }[] = [];
  private readonly dump: LineStream;
  constructor(lan: Lan, clientNode: number, vip: string) {
    const proc = spawn('ip', ['netns', 'exec', lan.namespaces[clientNode], 'tcpdump', '-i', 'eth0', '-n', '-e', '-tt', '-l', '--immediate-mode', 'arp'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    lan.procs.push(proc);
    const v = vip.replace(/\./g, '\\.');
    const re = new RegExp(`^(\\d+\\.\\d+) ([0-9a-f:]{17}) > .*(who-has ${v} (\\([0-9a-f:]{17}\\) )?tell ${v}\\b|Reply ${v} is-at)`);
    this.dump = new LineStream(proc, (text) => {
      const m = re.exec(text);
      if (m) this.garps.push({ t: Number(m[1]) * 1000, mac: m[2] });
    });
  }
  stop(): void {
    this.dump.stop();
  }
}

export function macOf(lan: Lan, node: number): string {
  const out = sh('ip', ['-n', lan.namespaces[node], '-br', 'link', 'show', 'eth0']).out;
  const m = /([0-9a-f]{2}(:[0-9a-f]{2}){5})/.exec(out);
  if (!m) throw new Error(`no MAC for eth0 in ${lan.namespaces[node]}: ${out}`);
  return m[1];
}

export const UDP_PORT = 7070;

/** A UDP responder in a node namespace answering every request with "<request> <name>". */
export function startResponder(lan: Lan, node: number, name: string): ChildProcess {
  const code = `const d=require('dgram').createSocket('udp4');d.on('error',()=>{});d.on('message',(m,r)=>d.send(m.toString()+' '+${JSON.stringify(name)},r.port,r.address,()=>{}));d.bind(${UDP_PORT});`;
  const p = spawn('ip', ['netns', 'exec', lan.namespaces[node], process.execPath, '-e', code], { stdio: ['ignore', 'ignore', 'ignore'] });
  lan.procs.push(p);
  return p;
}

/** Requests the client sent, and the answers it got (by request number). */
export class UdpClient {
  readonly sent: number[] = []; // sent[seq] = epoch ms
  readonly answeredBy = new Map<number, string>();
  private readonly stream: LineStream;
  constructor(lan: Lan, clientNode: number, vip: string, everyMs: number) {
    const code =
      `const d=require('dgram').createSocket('udp4');d.on('error',()=>{});let seq=0;` +
      `d.on('message',(m)=>process.stdout.write('r '+m.toString()+'\\n'));` +
      `setInterval(()=>{seq++;process.stdout.write('s '+seq+' '+Date.now()+'\\n');d.send(String(seq),${UDP_PORT},${JSON.stringify(vip)},()=>{})},${everyMs});`;
    const proc = spawn('ip', ['netns', 'exec', lan.namespaces[clientNode], process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    lan.procs.push(proc);
    this.stream = new LineStream(proc, (text) => {
      const [kind, seq, x] = text.split(' ');
      if (kind === 's') this.sent[Number(seq)] = Number(x);
      else if (kind === 'r') this.answeredBy.set(Number(seq), x);
    });
  }
  /** send times of the requests sent in [from, to) that got no answer */
  lost(from: number, to: number): number[] {
    const out: number[] = [];
    this.sent.forEach((t, seq) => {
      if (t >= from && t < to && !this.answeredBy.has(seq)) out.push(t);
    });
    return out;
  }
  stop(): void {
    this.stream.stop();
  }
}

/** 30% (or `percent`) loss on everything a node namespace sends and receives, by an nftables numgen rule. */
export function setLoss(lan: Lan, node: number, percent: number | undefined): void {
  const ns = lan.namespaces[node];
  sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'tks_storm_loss']);
  if (percent === undefined) return;
  const rules = [
    'table inet tks_storm_loss {',
    `  chain in { type filter hook input priority -300; numgen random mod 100 < ${percent} drop; }`,
    `  chain out { type filter hook output priority -300; numgen random mod 100 < ${percent} drop; }`,
    '}',
  ].join('\n');
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: rules, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`cannot install the loss rule in ${ns}`);
}

export function setLink(lan: Lan, node: number, up: boolean): void {
  const r = sh('ip', ['-n', lan.namespaces[node], 'link', 'set', 'eth0', up ? 'up' : 'down']);
  if (r.code !== 0) throw new Error(`cannot set eth0 ${up ? 'up' : 'down'} in ${lan.namespaces[node]}: ${r.out}`);
}
