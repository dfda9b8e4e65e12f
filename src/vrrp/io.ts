// What the VRRP engine needs from the network edge. The production implementation adapts the
// native layer (src/native, src/net); keeping this seam small keeps the engine testable.
import type { VirtualAddress, VirtualRoute, VirtualRule } from '../config/model.js';
import type { FilterTable, VipFilterEntry, VmacFilterEntry } from '../net/vip-filter.js';
import type { VmacInfo, VmacSpec } from '../net/vmac.js';
import type { SocketDropReason } from '../net/vrrp-socket.js';
import type { ProcEvent } from '../net/proc-connector.js';

export type { VmacInfo, VmacSpec } from '../net/vmac.js';
export type { FilterTable, VipFilterEntry, VmacFilterEntry } from '../net/vip-filter.js';
/** Why the socket dropped a datagram before it could be dispatched to an instance (the net layer says). */
export type { SocketDropReason } from '../net/vrrp-socket.js';

export interface ReceivedVrrp {
  payload: Buffer;
  src: string;
  dst: string;
  /** TTL / hop limit; undefined when unknown */
  ttl: number | undefined;
  ifindex?: number;
  /** AH sockets: the whole IPv4 datagram (IP header + AH + VRRP); payload is its VRRP part */
  datagram?: Buffer;
  /** when the kernel received it (ms since the epoch, fractional; SO_TIMESTAMPNS), if known */
  receivedAt?: number;
}

export interface VrrpSocketHandle {
  /**
   * Sends the VRRP payload; on an AH socket, the complete IPv4 datagram (IP_HDRINCL). Synchronous:
   * a failure throws.
   */
  send(payload: Buffer, dst: string): void;
  onPacket(cb: (p: ReceivedVrrp) => void): void;
  /** datagrams dropped below the instances (larger than the receive buffer, no VRRP inside); optional */
  onDrop?(cb: (reason: SocketDropReason, detail: string) => void): void;
  close(): void;
}

export interface InterfaceInfo {
  name: string;
  index: number;
  up: boolean;
  /** hardware address xx:xx:xx:xx:xx:xx when known */
  mac?: string;
  /** addresses currently on the interface (canonical text) */
  addresses: { address: string; prefixLen: number; family: 4 | 6 }[];
}

export type NetEvent =
  | { kind: 'address-removed'; ifname: string; address: string; family: 4 | 6 }
  | { kind: 'address-added'; ifname: string; address: string; family: 4 | 6 }
  | { kind: 'link'; ifname: string; up: boolean /** the interface is gone */; deleted?: boolean };

export interface VrrpNetIo {
  /** `ah`: IPv4 protocol 51 (IPsec AH) instead of 112, the caller building the IP header */
  openVrrpSocket(opts: { ifname: string; family: 4 | 6; group?: string; srcAddress?: string; ah?: boolean }): VrrpSocketHandle | Promise<VrrpSocketHandle>;
  interfaceInfo(ifname: string): Promise<InterfaceInfo | undefined>;
  addAddress(ifname: string, a: VirtualAddress): Promise<void>;
  delAddress(ifname: string, a: VirtualAddress): Promise<void>;
  addRoute(r: VirtualRoute, defaultDev: string): Promise<void>;
  delRoute(r: VirtualRoute, defaultDev: string): Promise<void>;
  addRule(r: VirtualRule): Promise<void>;
  delRule(r: VirtualRule): Promise<void>;
  /** synchronous, as the advert's send(): a failure throws */
  sendGratuitousArp(ifname: string, address: string): void;
  sendUnsolicitedNa(ifname: string, address: string): void;
  /**
   * Drop traffic to and from these addresses in the nftables table `table.name` (keepalived's
   * no-accept firewall); `owner` is the instance, [] withdraws its entries. Optional: without it
   * non-accept VIPs accept traffic.
   */
  setVipFilter?(table: FilterTable, owner: string, entries: VipFilterEntry[]): Promise<void>;
  /**
   * keepalived's VMAC rules in the same tables (IGMP / MLD reports moved to the base interface, router
   * solicitations dropped) for the owner's VMACs; [] withdraws them. Optional, as setVipFilter.
   */
  setVmacFilter?(table: FilterTable, owner: string, vmacs: VmacFilterEntry[]): Promise<void>;
  /**
   * Stopping: delete those tables. Until then they stay, empty, once made (keepalived 2.2.7 keeps
   * them until it stops, also across a reload that removes every instance using them).
   */
  clearFilters?(): Promise<void>;
  /** subscribe to address and link changes; returns an unsubscribe function */
  monitor(cb: (ev: NetEvent) => void): Promise<() => void> | (() => void);
  /** create (or take over) and bring up a VMAC interface; absent when the edge cannot */
  setupVmac?(spec: VmacSpec): Promise<VmacInfo>;
  /** delete a VMAC interface set up by setupVmac and restore the base interface's settings */
  removeVmac?(spec: VmacSpec): Promise<string[]>;
  /** disable_local_igmp: stop IGMP reports for 224.0.0.0/24 (e.g. from VMACs); returns the restore function */
  disableLocalIgmp?(): Promise<() => void>;
  /**
   * The kernel's process events for track_process (fork / exec / comm / exit); returns the
   * unsubscribe function. Throws (e.g. a SystemError ECONNREFUSED outside the initial network
   * namespace) when the kernel will not give them: the trackers then poll /proc.
   */
  watchProcessEvents?(cb: (ev: ProcEvent) => void): () => void;
  close?(): void;
}
