// One virtual service of the userspace proxy: a TCP or UDP listener on the virtual address:port that
// forwards each new connection (UDP: each client address:port session) to a destination chosen by the
// service's scheduler. Destinations can change at any time without touching existing connections.
// Connection counters follow IPVS: a new entry is inactive, a TCP connection is active once both legs
// are established, inactive again after the first FIN/RST, and its entry lingers (inactive) for the
// TIME_WAIT (graceful) or CLOSE (reset) timeout before it goes away; UDP sessions are inactive entries.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Destination, Service } from './backend.js';
import { maskPrefixLength } from '../util/inet.js';
import { bindConn, createScheduler, markEstablished, markNotEstablished, PersistenceTable, unbindConn } from './schedulers.js';
import type { SchedDest, Scheduler } from './schedulers.js';
import { destinationId } from './state.js';

export interface DestRuntime extends SchedDest {
  dest: Destination;
  inactive: number;
  /** connections ever sent here */
  total: number;
  /** false once removed from the state (its open connections continue) */
  present: boolean;
}

export interface ServiceProxyOptions {
  /** UDP sessions without traffic for this long are forgotten (ms) */
  udpIdleMs: number;
  /** how long a gracefully closed TCP connection stays counted (inactive), IPVS TIME_WAIT: 120 s */
  tcpTimeWaitMs?: number;
  /** the same after a reset or error, IPVS CLOSE: 10 s */
  tcpCloseMs?: number;
  /** lblc/lblcr entry expiration (IPVS default 24 h) */
  lblcExpirationMs?: number;
  /** like net.ipv4.vs.expire_quiescent_template=1: templates to weight-0 servers are dropped (IPVS default 0: kept) */
  expireQuiescentTemplate?: boolean;
  now?: () => number;
}

export const TCP_TIME_WAIT_MS = 120_000;
export const TCP_CLOSE_MS = 10_000;

interface UdpSession {
  dest: DestRuntime;
  upstream: dgram.Socket;
  timer?: NodeJS.Timeout;
  client: { address: string; port: number };
}

export class ServiceProxy {
  private scheduler: Scheduler;
  private persistence: PersistenceTable | undefined;
  readonly dests = new Map<string, DestRuntime>();
  /** the destinations in the order IPVS keeps them (each added one at the head; sh/dh/mh tables follow it) */
  private kernelList: DestRuntime[] = [];
  private server: net.Server | undefined;
  private udp: dgram.Socket | undefined;
  private readonly tcpConns = new Set<net.Socket>();
  private readonly sessions = new Map<string, UdpSession>();
  private listening = false;
  /** connections refused because no destination was available */
  refused = 0;
  private opsSeq = 0;
  /** closed TCP entries still counted, one FIFO per linger duration (equal durations: FIFO = expiry order) */
  private readonly lingering = new Map<number, LingerQueue>();

  constructor(
    private service: Service,
    private readonly opts: ServiceProxyOptions,
  ) {
    this.scheduler = this.makeScheduler(service);
    this.persistence = this.makePersistence(service);
    this.syncDests(service.destinations);
  }

  get isListening(): boolean {
    return this.listening;
  }

  private makeScheduler(s: Service): Scheduler {
    return createScheduler(s.scheduler, s.schedFlags, { now: this.opts.now, lblcExpirationMs: this.opts.lblcExpirationMs });
  }

  private makePersistence(s: Service): PersistenceTable | undefined {
    if (s.persistenceTimeout === undefined) return undefined;
    const full = s.key.family === 6 ? 128 : 32;
    const bits = s.persistenceNetmask !== undefined ? (maskPrefixLength(s.persistenceNetmask, s.key.family) ?? full) : full;
    return new PersistenceTable(s.persistenceTimeout * 1000, bits, this.opts.now);
  }

  private syncDests(list: Destination[]): void {
    const seen = new Set<string>();
    for (const d of list) {
      const id = destinationId(d);
      seen.add(id);
      const rt = this.dests.get(id);
      if (rt) {
        rt.dest = d;
        rt.weight = d.weight;
        // IPVS keeps the latest non-zero weight (mh builds its table from it)
        if (d.weight !== 0) rt.lastWeight = d.weight;
        // as IPVS on a destination update: removing or raising the upper threshold clears the overload flag
        if (!d.uthreshold || d.uthreshold > (rt.uthreshold ?? 0)) rt.overloaded = false;
        rt.uthreshold = d.uthreshold;
        rt.lthreshold = d.lthreshold;
      } else {
        const fresh: DestRuntime = {
          id,
          dest: d,
          address: d.address,
          port: d.port,
          weight: d.weight,
          lastWeight: d.weight,
          uthreshold: d.uthreshold,
          lthreshold: d.lthreshold,
          active: 0,
          inactive: 0,
          overloaded: false,
          total: 0,
          present: true,
        };
        this.dests.set(id, fresh);
        // the ipvs backend adds new destinations in list order, each at the head of the kernel's list
        this.kernelList.unshift(fresh);
      }
    }
    for (const [id, rt] of this.dests) {
      if (seen.has(id)) continue;
      rt.present = false;
      this.dests.delete(id);
    }
    this.kernelList = this.kernelList.filter((rt) => rt.present);
  }

  /** The destination ids in IPVS's list order (what `ipvsadm -Ln` prints for the same changes through the ipvs backend). */
  kernelOrder(): string[] {
    return this.kernelList.map((d) => d.id);
  }

  /** (tests) the destination a new connection from address:port would get now, without opening one. */
  preview(address: string, port: number): string | undefined {
    return this.choose(address, port)?.id;
  }

  /** Take a changed service definition (same key). Open connections are kept. */
  update(s: Service): void {
    const schedChanged = s.scheduler !== this.service.scheduler || (s.schedFlags ?? []).join() !== (this.service.schedFlags ?? []).join();
    if (schedChanged) this.scheduler = this.makeScheduler(s);
    if (s.persistenceTimeout !== this.service.persistenceTimeout || s.persistenceNetmask !== this.service.persistenceNetmask)
      this.persistence = this.makePersistence(s);
    this.service = s;
    this.syncDests(s.destinations);
  }

  private choose(address: string, port: number): DestRuntime | undefined {
    const list = this.scheduler.kernelOrder ? this.kernelList : [...this.dests.values()];
    if (this.persistence) {
      const id = this.persistence.lookup(address);
      const rt = id !== undefined ? this.dests.get(id) : undefined;
      // IPVS uses a template whose server is still in the service, even at weight 0 or overloaded
      if (rt && (rt.weight > 0 || !this.opts.expireQuiescentTemplate)) return rt;
      if (id !== undefined) this.persistence.drop(address);
    }
    return this.scheduler.pick(list, { address, port, serviceAddress: this.service.key.address! }) as DestRuntime | undefined;
  }

  /** A new connection entry (counted inactive until established). */
  private opened(rt: DestRuntime, client: string): void {
    bindConn(rt);
    rt.total++;
    this.persistence?.open(client, rt.id);
  }

  /** The entry went away (after its linger, if any). */
  private closed(rt: DestRuntime, client: string, wasActive: boolean): void {
    unbindConn(rt, wasActive);
    this.persistence?.close(client, rt.id);
  }

  /** Keep a closed connection's entry counted (inactive) for ms, then drop it (one timer per queue, not per entry). */
  private linger(rt: DestRuntime, client: string, ms: number): void {
    if (ms <= 0) {
      this.closed(rt, client, false);
      return;
    }
    let q = this.lingering.get(ms);
    if (!q) {
      q = new LingerQueue(ms, this.opts.now ?? Date.now, (e) => this.closed(e.rt, e.client, false));
      this.lingering.set(ms, q);
    }
    q.push(rt, client);
  }

  /** Closed TCP connection entries still counted (TIME_WAIT / CLOSE linger). */
  lingeringEntries(): number {
    let n = 0;
    for (const q of this.lingering.values()) n += q.size;
    return n;
  }

  /** Listen on the virtual address:port. Rejects with the socket error (EADDRNOTAVAIL, EADDRINUSE...). */
  async start(): Promise<void> {
    if (this.listening) return;
    const k = this.service.key;
    if (k.protocol === 'TCP') {
      const server = net.createServer({ allowHalfOpen: true }, (c) => this.onTcp(c));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: k.address, port: k.port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {});
      this.server = server;
    } else {
      const sock = dgram.createSocket({ type: k.family === 6 ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: k.address, port: k.port, exclusive: true }, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.on('error', () => {});
      sock.on('message', (m, r) => this.onDatagram(m, r));
      this.udp = sock;
    }
    this.listening = true;
  }

  private onTcp(client: net.Socket): void {
    const caddr = client.remoteAddress ?? '';
    const rt = this.choose(caddr, client.remotePort ?? 0);
    if (!rt) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.opened(rt, caddr);
    this.tcpConns.add(client);
    const up = net.connect({ host: rt.dest.address, port: rt.dest.port, allowHalfOpen: true });
    let established = false;
    let reset = false;
    let finished = false;
    const leaveEstablished = () => {
      if (!established) return;
      established = false;
      markNotEstablished(rt);
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      this.tcpConns.delete(client);
      leaveEstablished();
      this.linger(rt, caddr, reset ? (this.opts.tcpCloseMs ?? TCP_CLOSE_MS) : (this.opts.tcpTimeWaitMs ?? TCP_TIME_WAIT_MS));
    };
    up.once('connect', () => {
      if (finished || client.readableEnded) return;
      established = true;
      markEstablished(rt);
    });
    client.once('end', leaveEstablished);
    up.once('end', leaveEstablished);
    client.on('error', () => {
      reset = true;
      up.destroy();
    });
    up.on('error', () => {
      reset = true;
      client.resetAndDestroy();
    });
    client.on('close', () => {
      up.destroy();
      finish();
    });
    up.on('close', () => {
      if (!client.writableEnded) client.end();
    });
    client.pipe(up);
    up.pipe(client);
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // one-packet scheduling (ops): every datagram is scheduled on its own
    const key = this.service.ops ? `${rinfo.address}|${rinfo.port}|${++this.opsSeq}` : `${rinfo.address}|${rinfo.port}`;
    let s = this.sessions.get(key);
    if (s && !s.dest.present) {
      this.endSession(key, s);
      s = undefined;
    }
    if (!s) {
      const rt = this.choose(rinfo.address, rinfo.port);
      if (!rt) {
        this.refused++;
        return;
      }
      const upstream = dgram.createSocket({ type: rt.dest.family === 6 ? 'udp6' : 'udp4' });
      upstream.on('error', () => {});
      const session: UdpSession = { dest: rt, upstream, client: { address: rinfo.address, port: rinfo.port } };
      upstream.on('message', (m, from) => {
        if (from.port !== rt.dest.port) return;
        this.touch(key, session);
        this.udp?.send(m, session.client.port, session.client.address);
        if (this.service.ops) this.endSession(key, session);
      });
      this.opened(rt, rinfo.address);
      this.sessions.set(key, session);
      s = session;
    }
    this.touch(key, s);
    s.upstream.send(msg, s.dest.dest.port, s.dest.dest.address);
  }

  private touch(key: string, s: UdpSession): void {
    clearTimeout(s.timer);
    s.timer = setTimeout(() => this.endSession(key, s), this.service.ops ? Math.min(this.opts.udpIdleMs, 10_000) : this.opts.udpIdleMs);
    s.timer.unref();
  }

  private endSession(key: string, s: UdpSession): void {
    if (this.sessions.get(key) !== s) return;
    this.sessions.delete(key);
    clearTimeout(s.timer);
    s.upstream.close();
    this.closed(s.dest, s.client.address, false);
  }

  /** Stop listening; with dropConnections also end every open connection and UDP session. */
  async stop(dropConnections: boolean): Promise<void> {
    this.listening = false;
    const server = this.server;
    this.server = undefined;
    // close() stops accepting at once; its callback waits for every open connection, so do not wait for it
    server?.close();
    if (this.udp) {
      const u = this.udp;
      this.udp = undefined;
      await new Promise<void>((r) => u.close(() => r()));
      if (!dropConnections) for (const [k, s] of this.sessions) this.endSession(k, s);
    }
    if (dropConnections) {
      for (const c of this.tcpConns) c.destroy();
      for (const [k, s] of this.sessions) this.endSession(k, s);
      for (const q of this.lingering.values()) q.clear();
      this.lingering.clear();
    }
  }

  /** Persistence templates alive (IPVS's persistent connection entries). */
  templates(): number {
    return this.persistence?.size() ?? 0;
  }

  /** Per destination id: IPVS-style active/inactive entries, overload flag, connections ever sent. */
  stats(): { id: string; active: number; inactive: number; overloaded: boolean; total: number; weight: number }[] {
    return [...this.dests.values()].map((d) => ({
      id: d.id,
      active: d.active,
      inactive: d.inactive,
      overloaded: !!d.overloaded,
      total: d.total,
      weight: d.weight,
    }));
  }
}

interface LingerEntry {
  rt: DestRuntime;
  client: string;
  due: number;
}

/** Entries that all wait the same time, expired in order by a single unref'd timer. */
class LingerQueue {
  private items: LingerEntry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly now: () => number,
    private readonly expire: (e: LingerEntry) => void,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(rt: DestRuntime, client: string): void {
    this.items.push({ rt, client, due: this.now() + this.ms });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const first = this.items[this.head];
    if (!first) return;
    this.timer = setTimeout(() => this.run(), Math.max(0, first.due - this.now()));
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    const t = this.now();
    while (this.head < this.items.length && this.items[this.head]!.due <= t) this.expire(this.items[this.head++]!);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.head = 0;
  }
}
