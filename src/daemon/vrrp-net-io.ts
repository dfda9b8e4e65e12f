// The production VrrpNetIo (src/vrrp/io.ts): the VRRP engine's network edge over src/native + src/net.
// It lives in the daemon, above both, which composes it with the engine (engines.ts).
// Address / route / rule operations are idempotent where keepalived's are: adding what exists and
// removing what is gone succeed.
import type { VirtualAddress, VirtualRoute, VirtualRule } from '../config/model.js';
import type { InterfaceInfo, NetEvent, VmacInfo, VmacSpec, VrrpNetIo, VrrpSocketHandle } from '../vrrp/io.js';
import { parseIPv4 } from '../util/inet.js';
import { GarpSender } from '../net/arp.js';
import { NaSender } from '../net/ndisc.js';
import { closeRouteSocket } from '../net/netlink.js';
import { addAddress, deleteAddress, listAddresses, watchAddresses, type AddressSpec } from '../net/rtnl-addr.js';
import { getLink, listLinks, watchLinks } from '../net/rtnl-link.js';
import { addRoute, deleteRoute, type RouteSpec } from '../net/rtnl-route.js';
import { addRule, deleteRule, type RuleSpec } from '../net/rtnl-rule.js';
import { readSysctl, writeSysctl } from '../net/sysctl.js';
import { VmacManager } from '../net/vmac.js';
import { openVrrpSocket } from '../net/vrrp-socket.js';
import { watchProcessEvents, type ProcEvent } from '../net/proc-connector.js';
import { VipFilter, type FilterTable, type VipFilterEntry, type VmacFilterEntry } from '../net/vip-filter.js';
import { hasErrorCode, TskeepalivedError } from '../util/errors.js';

export class NetIoError extends TskeepalivedError {
  constructor(what: string) {
    super(what, 'TSK_ERR_NET_IO');
    this.name = 'NetIoError';
  }
}

function requireIndex(ifname: string): number {
  const l = getLink(ifname);
  if (!l) throw new NetIoError(`interface "${ifname}" does not exist`);
  return l.index;
}

/** IPv4 broadcast for "brd +": every host bit set. */
export function broadcastOf(address: string, prefixLen: number): string {
  const a = parseIPv4(address).readUInt32BE(0);
  const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  const b = (a | (~mask >>> 0)) >>> 0;
  return [b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join('.');
}

export function addressSpec(ifname: string, a: VirtualAddress): AddressSpec {
  const p = a.prefix;
  const spec: AddressSpec = { address: p.address, prefixLen: p.prefixLen, ifindex: requireIndex(a.dev ?? ifname) };
  if (p.family === 6) spec.noDad = true;
  if (a.brd !== undefined && p.family === 4 && a.brd !== '-') spec.broadcast = a.brd === '+' ? broadcastOf(p.address, p.prefixLen) : a.brd;
  if (a.label !== undefined && p.family === 4) spec.label = a.label;
  if (a.scope !== undefined) spec.scope = a.scope;
  return spec;
}

const PROTOCOLS: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4, keepalived: 18 };

export function protocolNumber(p: string | undefined): number | undefined {
  if (p === undefined) return undefined;
  if (/^\d+$/.test(p) && Number(p) < 256) return Number(p);
  const n = PROTOCOLS[p];
  if (n === undefined) throw new NetIoError(`unknown route protocol "${p}"`);
  return n;
}

export function routeSpec(r: VirtualRoute, defaultDev: string): RouteSpec {
  if ('nexthop' in r.options) throw new NetIoError(`multipath routes (nexthop) are not supported: ${r.dst.address}/${r.dst.prefixLen}`);
  const dev = r.dev ?? (r.via || (r.type && r.type !== 'unicast') ? undefined : defaultDev);
  const spec: RouteSpec = { dst: `${r.dst.address}/${r.dst.prefixLen}`, family: r.dst.family };
  if (r.via) spec.gateway = r.via;
  if (dev) spec.oif = requireIndex(dev);
  if (r.src) spec.src = r.src;
  if (r.table !== undefined) spec.table = r.table;
  if (r.metric !== undefined) spec.metric = r.metric;
  if (r.scope !== undefined) spec.scope = /^\d+$/.test(r.scope) ? Number(r.scope) : r.scope;
  if (r.type !== undefined) spec.type = r.type;
  const proto = protocolNumber(r.protocol);
  if (proto !== undefined) spec.protocol = proto;
  return spec;
}

function num(v: string, what: string): number {
  const n = Number(v);
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v) || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new NetIoError(`bad ${what} "${v}"`);
  return n;
}

export function ruleSpec(r: VirtualRule): RuleSpec {
  const o = r.options;
  const spec: RuleSpec = { family: r.family };
  if (r.from) spec.from = `${r.from.address}/${r.from.prefixLen}`;
  if (r.to) spec.to = `${r.to.address}/${r.to.prefixLen}`;
  if (r.table !== undefined) spec.table = r.table;
  if (r.preference !== undefined) spec.preference = r.preference;
  if (o.fwmark !== undefined) {
    const [mark, mask] = o.fwmark.split('/');
    spec.fwmark = num(mark, 'fwmark');
    if (mask !== undefined) spec.fwmask = num(mask, 'fwmark mask');
  }
  if (o.iif !== undefined) spec.iif = o.iif;
  if (o.oif !== undefined) spec.oif = o.oif;
  const tos = o.tos ?? o.dsfield;
  if (tos !== undefined) spec.tos = num(tos, 'tos');
  if (o.goto !== undefined) spec.goto = num(o.goto, 'goto target');
  if (o.suppress_prefixlength !== undefined) spec.suppressPrefixLength = num(o.suppress_prefixlength, 'suppress_prefixlength');
  if (o.suppress_ifgroup !== undefined) spec.suppressIfgroup = num(o.suppress_ifgroup, 'suppress_ifgroup');
  if ('not' in o) spec.invert = true;
  if (o.type !== undefined) spec.action = o.type === 'unicast' ? 'table' : o.type;
  const proto = protocolNumber(o.protocol);
  if (proto !== undefined) spec.protocol = proto;
  for (const unsupported of ['uidrange', 'sport', 'dport', 'ipproto', 'tun_id', 'realms', 'l3mdev']) {
    if (unsupported in o) throw new NetIoError(`rule option "${unsupported}" is not supported`);
  }
  return spec;
}

class NativeNetIo implements VrrpNetIo {
  private garp?: GarpSender;
  private readonly na = new Map<string, NaSender>();
  private readonly filters = new Map<string, VipFilter>();
  private readonly vmacs = new VmacManager();

  async setupVmac(spec: VmacSpec): Promise<VmacInfo> {
    return this.vmacs.setup(spec);
  }

  async disableLocalIgmp(): Promise<() => void> {
    const path = '/proc/sys/net/ipv4/igmp_link_local_mcast_reports';
    const was = readSysctl(path);
    if (was === undefined) throw new NetIoError(`cannot read ${path}`);
    if (was === 0) return () => undefined;
    writeSysctl(path, 0);
    return () => writeSysctl(path, was);
  }

  async removeVmac(spec: VmacSpec): Promise<string[]> {
    // senders bound to the interface must not outlive it
    this.na.get(spec.name)?.close();
    this.na.delete(spec.name);
    return this.vmacs.remove(spec);
  }

  setVipFilter(table: FilterTable, owner: string, entries: VipFilterEntry[]): Promise<void> {
    return this.filter(table).set(owner, entries);
  }

  setVmacFilter(table: FilterTable, owner: string, vmacs: VmacFilterEntry[]): Promise<void> {
    return this.filter(table).setVmacs(owner, vmacs);
  }

  async clearFilters(): Promise<void> {
    await Promise.all([...this.filters.values()].map((f) => f.clear()));
  }

  /** one VipFilter per table name; priority and counters follow the latest config */
  private filter(table: FilterTable): VipFilter {
    let f = this.filters.get(table.name);
    if (!f) this.filters.set(table.name, (f = new VipFilter(table)));
    else f.configure(table);
    return f;
  }

  openVrrpSocket(opts: { ifname: string; family: 4 | 6; group?: string; srcAddress?: string; ah?: boolean }): VrrpSocketHandle {
    return openVrrpSocket(opts);
  }

  async interfaceInfo(ifname: string): Promise<InterfaceInfo | undefined> {
    const l = getLink(ifname);
    if (!l) return undefined;
    return {
      name: l.name,
      index: l.index,
      up: l.up && l.running,
      mac: l.mac || undefined,
      addresses: listAddresses({ ifindex: l.index }).map((a) => ({ address: a.address, prefixLen: a.prefixLen, family: a.family })),
    };
  }

  async addAddress(ifname: string, a: VirtualAddress): Promise<void> {
    try {
      addAddress(addressSpec(ifname, a));
    } catch (e) {
      if (!hasErrorCode(e, 'EEXIST')) throw e;
    }
  }

  async delAddress(ifname: string, a: VirtualAddress): Promise<void> {
    try {
      deleteAddress(addressSpec(ifname, a));
    } catch (e) {
      if (!hasErrorCode(e, 'EADDRNOTAVAIL', 'ENODEV')) throw e;
    }
  }

  async addRoute(r: VirtualRoute, defaultDev: string): Promise<void> {
    addRoute(routeSpec(r, defaultDev), { replace: true });
  }

  async delRoute(r: VirtualRoute, defaultDev: string): Promise<void> {
    try {
      deleteRoute(routeSpec(r, defaultDev));
    } catch (e) {
      if (!hasErrorCode(e, 'ESRCH', 'ENOENT')) throw e;
    }
  }

  async addRule(r: VirtualRule): Promise<void> {
    try {
      addRule(ruleSpec(r));
    } catch (e) {
      if (!hasErrorCode(e, 'EEXIST')) throw e;
    }
  }

  async delRule(r: VirtualRule): Promise<void> {
    try {
      deleteRule(ruleSpec(r));
    } catch (e) {
      if (!hasErrorCode(e, 'ENOENT', 'ESRCH')) throw e;
    }
  }

  sendGratuitousArp(ifname: string, address: string): void {
    this.garp ??= new GarpSender();
    this.garp.send(ifname, address);
  }

  sendUnsolicitedNa(ifname: string, address: string): void {
    let s = this.na.get(ifname);
    if (!s) this.na.set(ifname, (s = new NaSender(ifname)));
    try {
      s.send(address);
    } catch (e) {
      // the interface may have been re-created: reopen once
      s.close();
      this.na.delete(ifname);
      if (!hasErrorCode(e, 'ENODEV', 'ENXIO')) throw e;
      const again = new NaSender(ifname);
      this.na.set(ifname, again);
      again.send(address);
    }
  }

  monitor(cb: (ev: NetEvent) => void): () => void {
    const names = new Map<number, string>();
    const upState = new Map<string, boolean>();
    const resyncLinks = (): void => {
      for (const l of listLinks()) {
        names.set(l.index, l.name);
        const up = l.up && l.running;
        const before = upState.get(l.name);
        upState.set(l.name, up);
        if (before !== undefined && before !== up) cb({ kind: 'link', ifname: l.name, up });
      }
    };
    resyncLinks();
    const nameOf = (index: number): string | undefined => {
      let n = names.get(index);
      if (n === undefined) {
        n = getLink(index)?.name;
        if (n !== undefined) names.set(index, n);
      }
      return n;
    };
    const onOverrun = (e: Error): void => {
      // ENOBUFS: notifications were lost; the link states can be re-read, address changes cannot
      if (hasErrorCode(e, 'ENOBUFS')) resyncLinks();
    };
    const links = watchLinks((ev) => {
      const l = ev.link;
      if (ev.kind === 'del') {
        names.delete(l.index);
        cb({ kind: 'link', ifname: l.name, up: false, deleted: true });
        upState.delete(l.name);
        return;
      }
      names.set(l.index, l.name);
      const up = l.up && l.running;
      if (upState.get(l.name) !== up) {
        upState.set(l.name, up);
        cb({ kind: 'link', ifname: l.name, up });
      }
    }, onOverrun);
    const addrs = watchAddresses((ev) => {
      const ifname = nameOf(ev.address.ifindex);
      if (ifname === undefined) return;
      cb({ kind: ev.kind === 'new' ? 'address-added' : 'address-removed', ifname, address: ev.address.address, family: ev.address.family });
    }, onOverrun);
    return () => {
      links.close();
      addrs.close();
    };
  }

  watchProcessEvents(cb: (ev: ProcEvent) => void): () => void {
    return watchProcessEvents(cb);
  }

  close(): void {
    this.garp?.close();
    this.garp = undefined;
    for (const s of this.na.values()) s.close();
    this.na.clear();
    closeRouteSocket();
  }
}

/** Build the production network edge; throws NativeUnavailableError when the addon is not built. */
export async function createNetIo(): Promise<VrrpNetIo> {
  const io = new NativeNetIo();
  // fail early (and clearly) when the native layer or the privileges are missing
  listLinks();
  return io;
}
