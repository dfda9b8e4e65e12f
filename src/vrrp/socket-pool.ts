// One VRRP socket per (interface, family, source, AH or not), shared by the instances on it; packets are
// dispatched by VRID so that 50 instances on one interface cost one lookup per packet.
import type { ReceivedVrrp, VrrpNetIo, VrrpSocketHandle } from './io.js';
import { decodeAdvert } from './packet.js';

type Receiver = (p: ReceivedVrrp, family: 4 | 6) => void;

interface PoolEntry {
  handle: VrrpSocketHandle;
  byVrid: Map<number, Set<Receiver>>;
  users: number;
}

export class SocketPool {
  private entries = new Map<string, Promise<PoolEntry>>();

  constructor(private readonly io: VrrpNetIo) {}

  private key(ifname: string, family: 4 | 6, src: string | undefined, ah: boolean | undefined): string {
    return `${ifname}|${family}|${src ?? ''}${ah ? '|ah' : ''}`;
  }

  async acquire(opts: { ifname: string; family: 4 | 6; group?: string; srcAddress?: string; ah?: boolean }, vrid: number, rx: Receiver): Promise<VrrpSocketHandle> {
    const k = this.key(opts.ifname, opts.family, opts.srcAddress, opts.ah);
    let p = this.entries.get(k);
    if (!p) {
      p = (async () => {
        const handle = await this.io.openVrrpSocket(opts);
        const entry: PoolEntry = { handle, byVrid: new Map(), users: 0 };
        handle.onPacket((pkt) => {
          // VRID is byte 1 of the VRRP header; a packet too short to carry it goes to everyone for counting
          const vrid = pkt.payload.length >= 2 ? pkt.payload[1] : -1;
          const targets = vrid >= 0 ? entry.byVrid.get(vrid) : undefined;
          if (targets) for (const r of targets) r(pkt, opts.family);
          else if (vrid < 0) for (const set of entry.byVrid.values()) for (const r of set) r(pkt, opts.family);
        });
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
      entry.handle.close();
    }
  }

  closeAll(): void {
    for (const p of this.entries.values()) p.then((e) => e.handle.close()).catch(() => undefined);
    this.entries.clear();
  }
}

export { decodeAdvert };
