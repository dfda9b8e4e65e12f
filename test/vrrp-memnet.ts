// An in-process LAN implementing VrrpNetIo for engine-logic tests (reload, sync groups, tracking).
// Each host has one interface eth0; sent adverts reach every other host's sockets.
import type { VirtualAddress, VirtualRoute } from '../src/config/model.js';
import type { NetEvent, ReceivedVrrp, VrrpNetIo, VrrpSocketHandle } from '../src/vrrp/io.js';

export class MemLan {
  hosts: MemHost[] = [];
  host(address: string): MemHost {
    const h = new MemHost(this, address);
    this.hosts.push(h);
    return h;
  }
}

export class MemHost implements VrrpNetIo {
  addresses = new Set<string>();
  garps: { address: string; at: number }[] = [];
  sockets = new Set<(p: ReceivedVrrp) => void>();
  linkUp = new Map<string, boolean>([['eth0', true]]);
  private monitors = new Set<(ev: NetEvent) => void>();
  sent: { dst: string; priority: number; vrid: number }[] = [];

  constructor(
    private readonly lan: MemLan,
    readonly primary: string,
  ) {}

  openVrrpSocket(): VrrpSocketHandle {
    let cb: ((p: ReceivedVrrp) => void) | undefined;
    const rx = (p: ReceivedVrrp) => cb?.(p);
    this.sockets.add(rx);
    return {
      send: (payload, dst) => {
        this.sent.push({ dst, priority: payload[2], vrid: payload[1] });
        const pkt = { payload: Buffer.from(payload), src: this.primary, dst, ttl: 255 };
        for (const h of this.lan.hosts) if (h !== this) for (const s of h.sockets) queueMicrotask(() => s(pkt));
      },
      onPacket: (c) => (cb = c),
      close: () => this.sockets.delete(rx),
    };
  }
  async interfaceInfo(ifname: string) {
    if (!this.linkUp.has(ifname)) return undefined;
    return { name: ifname, index: 2, up: this.linkUp.get(ifname)!, addresses: [{ address: this.primary, prefixLen: 24, family: 4 as const }] };
  }
  async addAddress(_ifname: string, a: VirtualAddress) {
    this.addresses.add(a.prefix.address);
  }
  async delAddress(_ifname: string, a: VirtualAddress) {
    this.addresses.delete(a.prefix.address);
  }
  async addRoute(_r: VirtualRoute, _defaultDev: string) {}
  async delRoute(_r: VirtualRoute, _defaultDev: string) {}
  async addRule() {}
  async delRule() {}
  sendGratuitousArp(_ifname: string, address: string) {
    this.garps.push({ address, at: Date.now() });
  }
  sendUnsolicitedNa(_ifname: string, address: string) {
    this.garps.push({ address, at: Date.now() });
  }
  monitor(cb: (ev: NetEvent) => void) {
    this.monitors.add(cb);
    return () => this.monitors.delete(cb);
  }
  setLink(ifname: string, up: boolean) {
    this.linkUp.set(ifname, up);
    for (const m of this.monitors) m({ kind: 'link', ifname, up });
  }
}
