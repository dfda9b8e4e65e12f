// One instance's virtual addresses on the host: virtual_ipaddress(_excluded), virtual_routes,
// virtual_rules and keepalived's no-accept filter, added on becoming MASTER and removed on leaving
// it, through the network edge. Failures are logged, never thrown: the instance keeps running.
import type { Logger } from 'pino';
import type { GlobalDefs, VirtualAddress, VrrpInstance } from '../config/model.js';
import { canonicalIp, isIPv6LinkLocal } from '../util/inet.js';
import type { FilterTable, VipFilterEntry, VrrpNetIo } from './io.js';

/** What the VIP install needs from its instance, read at each call (a reload replaces the config). */
export interface VipOwner {
  cfg(): VrrpInstance;
  global(): GlobalDefs;
  /** the instance's interface: the default device of its virtual routes */
  ifname(): string;
  /** the interface an address goes on (its dev, the instance's VMAC or its interface) */
  devFor(v: VirtualAddress): string;
  /** the interface the instance runs on: its VMAC (or ipvlan), else its interface (keepalived's vrrp->ifp) */
  vrrpIfname?(): string;
}

/**
 * keepalived's nftables table: global `nftables` (default "keepalived": keepalived 2.2.7 uses nftables
 * for use_vmac and no_accept when no firewall is configured), `nftables_priority` (-1), `nftables_counters`.
 */
export function filterTable(g: GlobalDefs): FilterTable {
  return { name: g.nftables ?? 'keepalived', priority: g.nftablesPriority ?? -1, counters: !!g.nftablesCounters };
}

export class VipInstall {
  /** the addresses are (meant to be) on the host: from install() to remove() or forget() */
  installed = false;

  constructor(
    private readonly io: VrrpNetIo,
    private readonly log: Logger,
    private readonly owner: VipOwner,
  ) {}

  /** virtual_ipaddress and virtual_ipaddress_excluded */
  all(): VirtualAddress[] {
    const cfg = this.owner.cfg();
    return [...cfg.virtualIpaddress, ...cfg.virtualIpaddressExcluded];
  }

  /** The address `address` on `ifname`, if it is one of ours. */
  find(address: string, ifname: string): VirtualAddress | undefined {
    return this.all().find((v) => canonicalIp(v.prefix.address) === address && this.owner.devFor(v) === ifname);
  }

  /** Becoming MASTER: addresses and the no-accept filter, then routes and rules. */
  async install(): Promise<void> {
    this.installed = true;
    const cfg = this.owner.cfg();
    const jobs: Promise<unknown>[] = [this.add(this.all())];
    if (this.filtersVips()) jobs.push(this.setVipFilter(this.all()));
    await Promise.all(jobs);
    this.log.info(`setting VIPs.`);
    for (const r of cfg.virtualRoutes) await this.io.addRoute(r, this.owner.ifname()).catch((e) => this.log.warn({ err: e }, 'cannot add virtual route'));
    for (const r of cfg.virtualRules) await this.io.addRule(r).catch((e) => this.log.warn({ err: e }, 'cannot add virtual rule'));
  }

  /** Leaving MASTER, stopping, or at start (quiet: keepalived clears leftovers without a word). */
  async remove(quiet: boolean): Promise<void> {
    const was = this.installed;
    this.installed = false;
    if (!quiet || was) this.log.info(`removing VIPs.`);
    const cfg = this.owner.cfg();
    for (const r of cfg.virtualRules) await this.io.delRule(r).catch(() => undefined);
    for (const r of cfg.virtualRoutes) await this.io.delRoute(r, this.owner.ifname()).catch(() => undefined);
    await Promise.all([this.withdraw(this.all()), this.setVipFilter([])]);
  }

  /** `-V` (stop without release): the addresses stay on the host, the instance no longer owns them. */
  forget(): void {
    this.installed = false;
  }

  /** Add these addresses (those of a re-made VMAC, those a reload added); failures are logged. */
  async add(list: VirtualAddress[]): Promise<void> {
    const addOne = (v: VirtualAddress) =>
      this.io.addAddress(this.owner.devFor(v), this.placed(v)).catch((e) => this.log.warn({ err: e }, `cannot add ${v.prefix.address}`));
    await Promise.all(list.map(addOne));
  }

  /** Someone removed one of our addresses while MASTER: put it back. */
  restore(v: VirtualAddress): void {
    this.io.addAddress(this.owner.devFor(v), this.placed(v)).catch((e) => this.log.error({ err: e }, `cannot restore ${canonicalIp(v.prefix.address)}`));
  }

  /**
   * Reload in place, the config already replaced: remove the addresses that are in `before` and no
   * longer configured, update the no-accept filter, and return those to add (the caller adds them
   * once every instance removed its own, so that an address moving between instances is never
   * deleted last).
   */
  async replace(before: VirtualAddress[]): Promise<VirtualAddress[]> {
    const key = (v: VirtualAddress) => JSON.stringify({ ...v, loc: undefined, dev: this.owner.devFor(v) });
    const now = this.all();
    const kept = new Set(now.map(key));
    const had = new Set(before.map(key));
    const removed = before.filter((v) => !kept.has(key(v)));
    await this.withdraw(removed);
    if (this.filtersVips()) await this.setVipFilter(now);
    const added = now.filter((v) => !had.has(key(v)));
    if (removed.length || added.length) this.log.info(`VIPs updated in place: ${added.length} to add, ${removed.length} removed`);
    return added;
  }

  private async withdraw(list: VirtualAddress[]): Promise<void> {
    await Promise.all(list.map((v) => this.io.delAddress(this.owner.devFor(v), this.placed(v)).catch(() => undefined)));
  }

  private placed(v: VirtualAddress): VirtualAddress {
    return { ...v, dev: this.owner.devFor(v) };
  }

  /**
   * keepalived's no-accept mode: a MASTER that is not the address owner drops traffic to its VIPs
   * unless `accept` is set (vrrp_strict's default is no accept).
   */
  private filtersVips(): boolean {
    const cfg = this.owner.cfg();
    return cfg.accept === false && cfg.priority !== 255;
  }

  /**
   * keepalived 2.2.7 matches an IPv6 link-local VIP with its interface's name instead of its index
   * when the instance has `dont_track_primary`, `nftables_ifindex` is not set, and the address is on
   * the instance's own interface (or is `no_track`); measured with keepalived (test/vrrp-accept.test.ts).
   */
  private matchedByName(v: VirtualAddress, e: VipFilterEntry): boolean {
    if (e.family !== 6 || !isIPv6LinkLocal(e.address)) return false;
    if (this.owner.global().nftablesIfindex || !this.owner.cfg().dontTrackPrimary) return false;
    return v.noTrack || e.dev === (this.owner.vrrpIfname?.() ?? this.owner.ifname());
  }

  private setVipFilter(addrs: VirtualAddress[]): Promise<void> {
    if (!this.io.setVipFilter) return Promise.resolve();
    const entries = addrs.map((v) => {
      const e: VipFilterEntry = { address: canonicalIp(v.prefix.address), family: v.prefix.family, dev: this.owner.devFor(v) };
      if (this.matchedByName(v, e)) e.byName = true;
      return e;
    });
    const failure = entries.length
      ? 'cannot install the nftables rules that drop traffic to the VIPs (no accept mode): the VIPs accept traffic'
      : 'cannot remove the nftables rules of the VIPs';
    return this.io.setVipFilter(filterTable(this.owner.global()), this.owner.cfg().name, entries).catch((e) => this.log.warn({ err: e }, failure));
  }
}
