// One VRRP socket per (interface, family, source, AH or not), shared by the instances on it; packets are
// dispatched by VRID so that 50 instances on one interface cost one lookup per packet.
// What no instance takes (an unconfigured VRID, a datagram the socket could not read) is counted
// here per socket and reason, and logged at most once a minute per reason.
import type { Logger } from 'pino';
import type { ReceivedVrrp, SocketDropReason, VrrpNetIo, VrrpSocketHandle } from './io.js';
import { decodeAdvert } from './packet.js';
import { ReceiveErrorCounters } from './receive-checks.js';

type Receiver = (p: ReceivedVrrp, family: 4 | 6) => void;

/** Drops below the instances: the socket's own, and VRIDs no instance on the socket serves. */
export type PoolDropReason = SocketDropReason | 'too-short' | 'unknown-vrid';
export const POOL_DROP_REASONS: PoolDropReason[] = ['truncated', 'malformed', 'too-short', 'unknown-vrid'];

interface SocketOptions {
  ifname: string;
  family: 4 | 6;
  group?: string;
  srcAddress?: string;
  ah?: boolean;
}

interface PoolEntry {
  opts: SocketOptions;
  handle: VrrpSocketHandle;
  byVrid: Map<number, Set<Receiver>>;
  users: number;
  drops: ReceiveErrorCounters<PoolDropReason>;
}

export interface SocketDropCount {
  ifname: string;
  family: 4 | 6;
  /** 'ah' for the protocol-51 socket of auth_type AH, else 'vrrp' */
  socket: 'vrrp' | 'ah';
  /** the socket's source address when the instances set one ('' otherwise) */
  source: string;
  reason: PoolDropReason;
  count: number;
}

export class SocketPool {
  private entries = new Map<string, Promise<PoolEntry>>();
  /** the opened entries, for the counters */
  private open = new Map<string, PoolEntry>();

  constructor(
    private readonly io: VrrpNetIo,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private key(ifname: string, family: 4 | 6, src: string | undefined, ah: boolean | undefined): string {
    return `${ifname}|${family}|${src ?? ''}${ah ? '|ah' : ''}`;
  }

  private drop(entry: PoolEntry, reason: PoolDropReason, detail: string): void {
    if (!entry.drops.record(reason, this.now()) || !this.log) return;
    const { ifname, family } = entry.opts;
    this.log.warn({ reason, interface: ifname, family, count: entry.drops.get(reason) }, `VRRP packet dropped on ${ifname}: ${reason} (${detail})`);
  }

  async acquire(opts: SocketOptions, vrid: number, rx: Receiver): Promise<VrrpSocketHandle> {
    const k = this.key(opts.ifname, opts.family, opts.srcAddress, opts.ah);
    let p = this.entries.get(k);
    if (!p) {
      p = (async () => {
        const handle = await this.io.openVrrpSocket(opts);
        const entry: PoolEntry = { opts, handle, byVrid: new Map(), users: 0, drops: new ReceiveErrorCounters<PoolDropReason>() };
        handle.onPacket((pkt) => {
          // VRID is byte 1 of the VRRP header; a packet too short to carry one belongs to no instance
          if (pkt.payload.length < 2) return this.drop(entry, 'too-short', `${pkt.payload.length} bytes from ${pkt.src}`);
          const vrid = pkt.payload[1];
          const targets = entry.byVrid.get(vrid);
          if (targets) for (const r of targets) r(pkt, opts.family);
          else this.drop(entry, 'unknown-vrid', `VRID ${vrid} from ${pkt.src}`);
        });
        handle.onDrop?.((reason, detail) => this.drop(entry, reason, detail));
        this.open.set(k, entry);
        return entry;
      })();
      this.entries.set(k, p);
      p.catch(() => this.entries.delete(k));
    }
    const entry = await p;
    entry.users++;
    let set = entry.byVrid.get(vrid);
    if (!set) entry.byVrid.set(vrid, (set = new Set()));
    set.add(rx);
    return entry.handle;
  }

  async release(opts: { ifname: string; family: 4 | 6; srcAddress?: string; ah?: boolean }, vrid: number, rx: Receiver): Promise<void> {
    const k = this.key(opts.ifname, opts.family, opts.srcAddress, opts.ah);
    const p = this.entries.get(k);
    if (!p) return;
    const entry = await p;
    entry.byVrid.get(vrid)?.delete(rx);
    if (entry.byVrid.get(vrid)?.size === 0) entry.byVrid.delete(vrid);
    if (--entry.users <= 0) {
      this.entries.delete(k);
      this.open.delete(k);
      entry.handle.close();
    }
  }

  /** Drop counters of the open sockets (every reason, zeros included). */
  dropCounts(): SocketDropCount[] {
    const out: SocketDropCount[] = [];
    for (const e of this.open.values())
      for (const reason of POOL_DROP_REASONS)
        out.push({
          ifname: e.opts.ifname,
          family: e.opts.family,
          socket: e.opts.ah ? 'ah' : 'vrrp',
          source: e.opts.srcAddress ?? '',
          reason,
          count: e.drops.get(reason),
        });
    return out;
  }

  closeAll(): void {
    for (const p of this.entries.values()) p.then((e) => e.handle.close()).catch(() => undefined);
    this.entries.clear();
    this.open.clear();
  }
}

export { decodeAdvert };
