// The BFD engine: one BfdSession per bfd_instance, the listeners on port 3784, a sending socket per
// session, the dispatch of received packets (Your Discriminator, else the addresses), the GTSM
// check, and `bfd-session` events for the VRRP and checker engines (through the daemon).
import type { Logger } from 'pino';
import type { BfdInstance, KeepalivedConfig } from '../config/model.js';
import { bfdInstanceKey } from '../config/reload-identity.js';
import { type Engine, type EngineEvent, type EngineEventListener, EngineListeners, type MetricSample, metricSample } from '../engine-api/types.js';
import { realClock, type Clock } from '../util/clock.js';
import { canonicalIp, ipFamily } from '../util/inet.js';
import { type BfdControl, type BfdDecodeError, decodeControl, ttlAcceptable } from './packet.js';
import { BfdSession, type SessionChange } from './session.js';

/** A received datagram as the edge hands it over (src/net/bfd-socket.ts's BfdDatagram). */
export interface BfdRxDatagram {
  data: Buffer;
  family: 4 | 6;
  src: string;
  srcPort: number;
  dst?: string;
  ttl?: number;
  truncated: boolean;
}

/** The network edge the engine needs; `src/daemon/engines.ts` gives it `src/net/bfd-socket.ts`. */
export interface BfdIo {
  listen(family: 4 | 6, onPacket: (p: BfdRxDatagram) => void, onError: (e: Error) => void): { close(): void };
  openSender(opts: { family: 4 | 6; neighbor: string; source?: string; ttl: number }): { readonly localPort: number; send(data: Buffer): void; close(): void };
}

export interface BfdEngineOptions {
  io: BfdIo;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
}

/** keepalived's `vrrp` / `checker` keywords: the session's events go only to those processes. */
export function eventTargets(b: BfdInstance | undefined): ('vrrp' | 'checkers')[] | undefined {
  const kw = new Set((b?.raw ?? []).map((r) => r.keyword));
  if (!kw.has('vrrp') && !kw.has('checker')) return undefined;
  return [...(kw.has('vrrp') ? (['vrrp'] as const) : []), ...(kw.has('checker') ? (['checkers'] as const) : [])];
}

/** keepalived's defaults: TTL 255 for IPv4, hop limit 64 for IPv6; max_hops 0. */
export function sessionTtl(b: BfdInstance): { family: 4 | 6; ttl: number; maxHops: number } {
  const family = (ipFamily(b.neighborIp ?? '') || 4) as 4 | 6;
  const ttl = b.ttl ?? (family === 4 ? 255 : 64);
  return { family, ttl, maxHops: Math.min(b.maxHops ?? 0, ttl) };
}

interface Running {
  def: BfdInstance;
  key: string;
  session: BfdSession;
  sender?: { readonly localPort: number; send(data: Buffer): void; close(): void };
  family: 4 | 6;
  ttl: number;
  maxHops: number;
  neighbor: string;
  source?: string;
}

export class BfdEngine implements Engine {
  readonly name = 'bfd' as const;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly sessions = new Map<string, Running>();
  private readonly byDiscr = new Map<number, Running>();
  private readonly listeners = new EngineListeners((err) => this.log.error({ err }, 'BFD event listener failed'));
  private readonly sockets = new Map<4 | 6, { close(): void }>();
  readonly drops: Partial<Record<BfdDecodeError | 'ttl' | 'no-session' | 'truncated', number>> = {};
  private stopped = false;

  constructor(private readonly opts: BfdEngineOptions) {
    this.log = opts.logger;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
  }

  on(listener: EngineEventListener): void {
    this.listeners.add(listener);
  }

  private emit(ev: EngineEvent): void {
    this.listeners.emit(ev);
  }

  /** Whether the named session is Up now (false for an unknown name). */
  isUp(name: string): boolean {
    return this.sessions.get(name)?.session.state === 'Up';
  }

  async start(config: KeepalivedConfig): Promise<void> {
    this.stopped = false;
    this.apply(config.bfdInstances ?? []);
  }

  async reload(config: KeepalivedConfig): Promise<void> {
    this.apply(config.bfdInstances ?? []);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const name of [...this.sessions.keys()]) this.removeSession(name);
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private apply(defs: BfdInstance[]): void {
    const wanted = new Map(defs.filter((d) => d.neighborIp).map((d) => [d.name, d]));
    for (const [name, r] of this.sessions) {
      const d = wanted.get(name);
      if (!d || bfdInstanceKey(d) !== r.key) this.removeSession(name);
      else r.def = d; // weight and the like: kept session, new definition
    }
    for (const d of wanted.values()) if (!this.sessions.has(d.name)) this.addSession(d);
    this.syncListeners();
  }

  private syncListeners(): void {
    const families = new Set([...this.sessions.values()].map((r) => r.family));
    for (const [f, s] of this.sockets)
      if (!families.has(f)) {
        s.close();
        this.sockets.delete(f);
      }
    for (const f of families) {
      if (this.sockets.has(f)) continue;
      try {
        this.sockets.set(
          f,
          this.opts.io.listen(
            f,
            (p) => this.onDatagram(p),
            (e) => this.log.warn({ err: e }, `BFD receive error: ${e.message}`),
          ),
        );
      } catch (e) {
        this.log.error({ err: e }, `cannot listen for BFD on IPv${f} port 3784: ${(e as Error).message}`);
      }
    }
  }

  private newDiscriminator(): number {
    for (;;) {
      const d = (Math.floor(this.random() * 0xffffffff) + 1) >>> 0;
      if (d !== 0 && !this.byDiscr.has(d)) return d;
    }
  }

  private addSession(def: BfdInstance): void {
    const { family, ttl, maxHops } = sessionTtl(def);
    const neighbor = canonicalIp(def.neighborIp!);
    const discr = this.newDiscriminator();
    const r: Running = {
      def,
      key: bfdInstanceKey(def),
      family,
      ttl,
      maxHops,
      neighbor,
      source: def.sourceIp ? canonicalIp(def.sourceIp) : undefined,
    } as Running;
    const log = this.log.child({ bfd: def.name });
    r.session = new BfdSession(
      {
        name: def.name,
        minTxUs: Math.round(def.minTx * 1000),
        minRxUs: Math.round(def.minRx * 1000),
        idleTxUs: Math.round(def.idleTx * 1000),
        multiplier: def.multiplier,
        passive: def.passive,
      },
      discr,
      this.clock,
      {
        send: (buf) => {
          if (!r.sender) return false;
          r.sender.send(buf);
          return true;
        },
        onChange: (c) => this.onChange(c),
        log: (level, msg, fields) => log[level](fields ?? {}, msg),
      },
      this.random,
    );
    try {
      r.sender = this.opts.io.openSender({ family, neighbor, source: r.source, ttl });
    } catch (e) {
      log.error({ err: e }, `(${def.name}) cannot open the sending socket, session stays down: ${(e as Error).message}`);
    }
    this.sessions.set(def.name, r);
    this.byDiscr.set(discr, r);
    r.session.start();
    log.info({ neighbor, source: r.source, localPort: r.sender?.localPort, ttl }, `(${def.name}) BFD session to ${neighbor} started`);
  }

  private removeSession(name: string): void {
    const r = this.sessions.get(name);
    if (!r) return;
    const wasUp = r.session.state === 'Up';
    r.session.stop(!this.stopped);
    r.sender?.close();
    this.sessions.delete(name);
    this.byDiscr.delete(r.session.localDiscr);
    const only = eventTargets(r.def);
    if (wasUp && !this.stopped) this.emit({ kind: 'bfd-session', name, up: false, at: Date.now(), ...(only ? { only } : {}) });
  }

  private onChange(c: SessionChange): void {
    const only = eventTargets(this.sessions.get(c.name)?.def);
    this.emit({ kind: 'bfd-session', name: c.name, up: c.up, at: Date.now(), silentMs: c.silentMs, detectMs: c.detectMs, ...(only ? { only } : {}) });
  }

  private drop(reason: keyof BfdEngine['drops'], p: BfdRxDatagram): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.log.debug({ src: p.src, reason, ttl: p.ttl }, `Discarding BFD packet from ${p.src}: ${reason}`);
  }

  /** Dispatch one received datagram (RFC 5880 6.8.6 with keepalived's lookup and TTL check). */
  onDatagram(p: BfdRxDatagram): void {
    if (this.stopped) return;
    const r = this.sessionFor(p);
    if (typeof r === 'string') this.drop(r, p);
    else r.session.receive(r.packet);
  }

  /** The session a datagram is for, with its decoded packet, or why it is dropped. */
  private sessionFor(p: BfdRxDatagram): { session: BfdSession; packet: BfdControl } | keyof BfdEngine['drops'] {
    if (p.truncated) return 'truncated';
    const d = decodeControl(p.data);
    if (!d.ok) return d.error;
    const pkt = d.packet;
    let r: Running | undefined;
    if (pkt.yourDiscr !== 0) r = this.byDiscr.get(pkt.yourDiscr);
    else {
      const src = canonicalIp(p.src);
      const dst = p.dst ? canonicalIp(p.dst) : undefined;
      for (const s of this.sessions.values())
        if (s.neighbor === src && (!s.source || !dst || s.source === dst)) {
          r = s;
          break;
        }
    }
    if (!r) return 'no-session';
    if (!ttlAcceptable(p.ttl, r.ttl, r.maxHops)) return 'ttl';
    return { session: r.session, packet: pkt };
  }

  snapshot(): unknown {
    return [...this.sessions.values()].map((r) => ({
      ...r.session.snapshot(),
      neighbor: r.neighbor,
      source: r.source ?? null,
      localPort: r.sender?.localPort ?? null,
      ttl: r.ttl,
      maxHops: r.maxHops,
    }));
  }

  dumpData(): string {
    const lines = [' ------< BFD Topology >------'];
    for (const r of this.sessions.values()) {
      const s = r.session.snapshot();
      lines.push(
        ` BFD Instance = ${s.name}`,
        `   Neighbor IP = ${r.neighbor}`,
        ...(r.source ? [`   Source IP = ${r.source}`] : []),
        `   Required min RX interval = ${r.def.minRx} ms`,
        `   Desired min TX interval = ${r.def.minTx} ms`,
        `   Desired idle TX interval = ${r.def.idleTx} ms`,
        `   Detection multiplier = ${r.def.multiplier}`,
        `   ${r.family === 4 ? 'TTL' : 'hoplimit'} = ${r.ttl}`,
        `   max_hops = ${r.maxHops}`,
        `   passive = ${r.def.passive ? 'true' : 'false'}`,
        `   state = ${s.state}, remote state = ${s.remoteState}, detection time = ${s.detectionTime} ms`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  dumpStats(): string {
    const lines: string[] = [];
    for (const r of this.sessions.values()) {
      const s = r.session.snapshot();
      lines.push(`BFD Instance: ${s.name}`, `  Sent: ${s.sent}`, `  Received: ${s.received}`, `  Up: ${s.upTransitions}`, `  Down: ${s.downTransitions}`);
    }
    const drops = Object.entries(this.drops).map(([k, v]) => `  ${k}: ${v}`);
    if (drops.length) lines.push('BFD packets discarded:', ...drops);
    return `${lines.join('\n')}\n`;
  }

  metrics(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const r of this.sessions.values()) {
      const s = r.session.snapshot();
      const l = { instance: s.name, neighbor: r.neighbor };
      out.push(
        metricSample('tskeepalived_bfd_up', 'Whether the BFD session is Up (1) or not (0).', s.state === 'Up' ? 1 : 0, l),
        metricSample('tskeepalived_bfd_detection_time_seconds', 'Detection time in force.', s.detectionTime / 1000, l),
        metricSample('tskeepalived_bfd_packets_sent_total', 'BFD Control packets sent.', s.sent, l, 'counter'),
        metricSample('tskeepalived_bfd_packets_received_total', 'BFD Control packets accepted.', s.received, l, 'counter'),
        metricSample('tskeepalived_bfd_down_transitions_total', 'Transitions from Up to Down.', s.downTransitions, l, 'counter'),
      );
    }
    for (const [reason, n] of Object.entries(this.drops))
      out.push(metricSample('tskeepalived_bfd_packets_discarded_total', 'BFD packets discarded, by reason.', n ?? 0, { reason }, 'counter'));
    return out;
  }
}
