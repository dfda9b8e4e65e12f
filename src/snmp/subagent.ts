// The AgentX session with the master agent (snmpd): connect (unix socket or TCP), Open, Register
// the subtrees, answer Get / GetNext / GetBulk from a MibView, the Set phases through a SetHandler,
// send Notify PDUs, Ping to notice a dead master. No master, the socket gone, snmpd restarted: one
// warning, then reconnect with backoff (1 s doubling to 30 s) and register again. Nothing here
// waits on the master: requests are answered from the view as they arrive, the event loop is never
// blocked and a slow master only delays its own answers.
import { type Socket, connect } from 'node:net';
import type { Logger } from 'pino';
import { TskeepalivedError } from '../util/errors.js';
import {
  AgentxError,
  CLOSE,
  type Decoded,
  decodePdu,
  ERR,
  encodeClose,
  encodeNotify,
  encodeOpen,
  encodePing,
  encodeRegister,
  encodeResponse,
  type Oid,
  oidText,
  PDU,
  pduLength,
  type VarBind,
} from './agentx.js';
import type { MibView } from './view.js';
import { OutageBackoff } from '../util/outage-backoff.js';

export class SnmpError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_SNMP');
    this.name = 'SnmpError';
  }
}

/** keepalived's (net-snmp's) default master agent socket. */
export const DEFAULT_AGENTX_SOCKET = '/var/agentx/master';

/** Notifications kept while the master agent is away: at most this many, this old. */
export const QUEUE_MAX = 100;
export const QUEUE_AGE_MS = 30000;

export type AgentxAddress = { path: string } | { host: string; port: number };

/** snmp_socket / -A as keepalived takes it: PATH, unix:PATH, tcp:HOST:PORT (also tcp:PORT, HOST:PORT). */
export function parseAgentxAddress(text: string | undefined): AgentxAddress {
  const t = (text ?? DEFAULT_AGENTX_SOCKET).trim();
  if (t.startsWith('unix:')) return { path: t.slice(5) };
  if (t.startsWith('/')) return { path: t };
  const rest = t.startsWith('tcp:') ? t.slice(4) : t;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(rest) ?? /^()()(\d+)$/.exec(rest);
  if (m) {
    const port = Number(m[3]);
    if (port > 0 && port < 65536) return { host: m[1] || m[2] || 'localhost', port };
  }
  throw new AgentxError(`snmp socket '${t}': expected a path, unix:PATH or tcp:HOST:PORT`);
}

export function addressText(a: AgentxAddress): string {
  return 'path' in a ? `unix:${a.path}` : `tcp:${a.host}:${a.port}`;
}

/**
 * The SET phases of RFC 2741 §7.2 for one transaction: test the varbinds (an error and the 1-based
 * index of the varbind at fault, or none), then commit, or undo after a commit, and clean up.
 */
export interface SetHandler {
  test(varbinds: VarBind[]): { error: number; index: number; commit: () => boolean; undo: () => boolean };
}

export interface SubagentOptions {
  /** SET support; without it every TestSet is answered notWritable */
  set?: SetHandler;
  address: AgentxAddress;
  subtrees: Oid[];
  /** the view a request is answered from, given its search ranges' starts (the caller caches) */
  view: (starts: Oid[]) => MibView;
  logger: Logger;
  descr?: string;
  /** ms; defaults 1000 .. 30000 */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** ms between Pings while connected; 0 = none */
  pingIntervalMs?: number;
  /** ms to wait for the master's answer to Open / Register / Ping */
  responseTimeoutMs?: number;
}

interface Pending {
  resolve: (d: Decoded & { kind: 'response' }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SubagentStats {
  connects: number;
  requests: number;
  notifications: number;
  notificationsDropped: number;
  parseErrors: number;
}

export class AgentxSubagent {
  private socket?: Socket;
  private sessionId = 0;
  private packetId = 0;
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private retryTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private readonly backoff: OutageBackoff;
  private stopped = true;
  private ready = false;
  private readonly started = Date.now();
  private queue: { varbinds: VarBind[]; at: number }[] = [];
  /** tested SETs waiting for CommitSet / UndoSet / CleanupSet, by transaction */
  private readonly sets = new Map<number, { commit: () => boolean; undo: () => boolean }>();
  readonly stats: SubagentStats = { connects: 0, requests: 0, notifications: 0, notificationsDropped: 0, parseErrors: 0 };

  constructor(private readonly opts: SubagentOptions) {
    this.backoff = new OutageBackoff(opts.backoffMinMs, opts.backoffMaxMs);
  }

  get connected(): boolean {
    return this.ready;
  }

  /** centiseconds since the subagent started, for sysUpTime in responses and notifications */
  uptime(): number {
    return Math.floor((Date.now() - this.started) / 10);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connectNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = undefined;
    this.pingTimer = undefined;
    const s = this.socket;
    if (s && this.ready) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        s.write(encodeClose(this.sessionId, this.nextPacketId(), CLOSE.shutdown), () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.teardown(new SnmpError('subagent stopped'));
  }

  /**
   * Send a notification (varbinds from sysUpTime.0 / snmpTrapOID.0 on). While disconnected it waits
   * in a bounded queue (QUEUE_MAX, the oldest dropped; QUEUE_AGE_MS at most) sent once registered.
   */
  notify(varbinds: VarBind[]): boolean {
    if (!this.ready || !this.socket) {
      this.queue.push({ varbinds, at: Date.now() });
      if (this.queue.length > QUEUE_MAX) {
        this.queue.shift();
        this.stats.notificationsDropped++;
      }
      return false;
    }
    this.stats.notifications++;
    const id = this.nextPacketId();
    this.socket.write(encodeNotify(this.sessionId, id, varbinds));
    // the master answers with a Response; nothing waits for it
    return true;
  }

  private nextPacketId(): number {
    this.packetId = (this.packetId + 1) >>> 0 || 1;
    return this.packetId;
  }

  private connectNow(): void {
    if (this.stopped) return;
    const a = this.opts.address;
    const s = 'path' in a ? connect({ path: a.path }) : connect({ host: a.host, port: a.port });
    this.socket = s;
    this.buf = Buffer.alloc(0);
    s.setNoDelay?.(true);
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', (e) => this.onFailure(e));
    s.on('close', () => this.onFailure(new SnmpError('the master agent closed the connection')));
    s.once('connect', () => {
      this.session().catch((e: Error) => this.onFailure(e));
    });
  }

  private async session(): Promise<void> {
    const descr = this.opts.descr ?? 'tskeepalived SNMP subagent';
    const open = await this.request(encodeOpen(this.nextPacketId(), 0, [], descr), this.packetId);
    if (open.error !== ERR.none) throw new SnmpError(`the master agent refused Open (error ${open.error})`);
    this.sessionId = open.sessionId;
    for (const t of this.opts.subtrees) {
      const r = await this.request(encodeRegister(this.sessionId, this.nextPacketId(), t), this.packetId);
      if (r.error !== ERR.none)
        this.opts.logger.warn({ subtree: oidText(t), error: r.error }, `the master agent refused to register ${oidText(t)} (error ${r.error})`);
    }
    this.ready = true;
    this.stats.connects++;
    const where = addressText(this.opts.address);
    if (this.backoff.connected()) this.opts.logger.info({ socket: where }, `AgentX subagent reconnected to ${where}`);
    else this.opts.logger.info({ socket: where }, `AgentX subagent connected to ${where}`);
    const queued = this.queue.filter((q) => Date.now() - q.at <= QUEUE_AGE_MS);
    this.stats.notificationsDropped += this.queue.length - queued.length;
    this.queue = [];
    for (const q of queued) this.notify(q.varbinds);
    const every = this.opts.pingIntervalMs ?? 15000;
    if (every > 0) {
      this.pingTimer = setInterval(() => {
        if (!this.ready) return;
        this.request(encodePing(this.sessionId, this.nextPacketId()), this.packetId).catch((e: Error) => this.onFailure(e));
      }, every);
      this.pingTimer.unref();
    }
  }

  private request(pdu: Buffer, id: number): Promise<Decoded & { kind: 'response' }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SnmpError('no answer from the master agent'));
      }, this.opts.responseTimeoutMs ?? 5000);
      this.pending.set(id, { resolve, reject, timer });
      this.socket?.write(pdu);
    });
  }

  private onFailure(e: Error): void {
    if (this.stopped) return;
    const wasReady = this.ready;
    this.teardown(e);
    // a retry already armed: this outage was warned about and its delay counted
    if (this.retryTimer) return;
    const { first, waitMs } = this.backoff.failed();
    if (first) {
      const where = addressText(this.opts.address);
      this.opts.logger.warn(
        { socket: where, err: e },
        wasReady
          ? `lost the SNMP master agent at ${where}: ${e.message}; reconnecting`
          : `cannot reach the SNMP master agent at ${where}: ${e.message}; retrying in the background`,
      );
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connectNow();
    }, waitMs);
    this.retryTimer.unref();
  }

  private teardown(e: Error): void {
    this.ready = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const len = pduLength(this.buf);
      if (len === undefined || this.buf.length < len) return;
      const one = this.buf.subarray(0, len);
      this.buf = this.buf.subarray(len);
      this.onPdu(one);
    }
  }

  private onPdu(raw: Buffer): void {
    const d = decodePdu(raw);
    if (d instanceof AgentxError) {
      this.stats.parseErrors++;
      this.opts.logger.warn({ err: d }, `bad AgentX PDU from the master agent: ${d.message}`);
      return;
    }
    if (d.kind === 'response') {
      const p = this.pending.get(d.packetId);
      if (p) {
        this.pending.delete(d.packetId);
        clearTimeout(p.timer);
        p.resolve(d);
      }
      return;
    }
    const s = this.socket;
    if (!s) return;
    switch (d.type) {
      case PDU.get:
      case PDU.getNext:
      case PDU.getBulk: {
        if (d.kind !== 'ranges') return;
        this.stats.requests++;
        let varbinds: VarBind[];
        try {
          const view = this.opts.view(d.ranges.map((r) => r.start));
          if (d.type === PDU.get) varbinds = d.ranges.map((r) => ({ oid: r.start, value: view.get(r.start) }));
          else if (d.type === PDU.getNext) varbinds = d.ranges.map((r) => view.getNext(r));
          else varbinds = view.getBulk(d.ranges, d.nonRepeaters, d.maxRepetitions);
        } catch (e) {
          this.opts.logger.error({ err: e }, 'building the SNMP view failed');
          s.write(encodeResponse(d, this.uptime(), ERR.genErr, 1, []));
          return;
        }
        s.write(encodeResponse(d, this.uptime(), ERR.none, 0, varbinds));
        return;
      }
      case PDU.testSet: {
        const vbs = d.kind === 'varbinds' ? d.varbinds : [];
        const t = this.opts.set?.test(vbs) ?? { error: ERR.notWritable, index: 1, commit: () => false, undo: () => false };
        if (t.error === ERR.none) this.sets.set(d.transactionId, t);
        s.write(encodeResponse(d, this.uptime(), t.error, t.index, vbs));
        return;
      }
      case PDU.commitSet: {
        const t = this.sets.get(d.transactionId);
        s.write(encodeResponse(d, this.uptime(), t && !t.commit() ? ERR.commitFailed : ERR.none, 0, []));
        return;
      }
      case PDU.undoSet: {
        const t = this.sets.get(d.transactionId);
        this.sets.delete(d.transactionId);
        s.write(encodeResponse(d, this.uptime(), t && !t.undo() ? ERR.undoFailed : ERR.none, 0, []));
        return;
      }
      case PDU.cleanupSet:
        this.sets.delete(d.transactionId);
        return;
      case PDU.close:
        this.onFailure(new SnmpError('the master agent closed the session'));
        return;
      default:
        s.write(encodeResponse(d, this.uptime(), ERR.processingError, 0, []));
    }
  }
}
