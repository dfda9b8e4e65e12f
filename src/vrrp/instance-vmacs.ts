// The VMAC interfaces of one vrrp_instance (use_vmac, use_vmac_addr, use_vmac on address lines):
// set up at start, re-made when deleted, removed at stop, and where each address goes.
import type { Logger } from 'pino';
import type { VirtualAddress, VrrpInstance } from '../config/model.js';
import type { FilterTable, InterfaceInfo, VmacInfo, VmacSpec, VrrpNetIo } from './io.js';
import { canonicalIp } from '../util/inet.js';
import { addressNeedsVmac, addressVmacKey, eui64LinkLocal, vmacAddress, type VmacPlan } from './vmac.js';

/** use_ipvlan's words as IFLA_IPVLAN_FLAGS (IPVLAN_F_*: linux/if_link.h) */
const IPVLAN_FLAGS = { bridge: 0, private: 1, vepa: 2 } as const;

export class InstanceVmacs {
  /** the instance's own VMAC once it is up: its VIPs of its family live on it */
  main: string | undefined;
  /** address VMACs that are up, by addressVmacKey(base, family) */
  private readonly byAddress = new Map<string, string>();
  /** every VMAC set up, for re-creation and removal */
  private specs: VmacSpec[] = [];
  private restoring = false;
  /** the instance's own VMAC in keepalived's nftables VMAC rules: its ifindex and its base's */
  private filtered: { vmac: number; base: number } | undefined;

  constructor(
    private readonly cfg: VrrpInstance,
    /** the instance's interface */
    private readonly ifname: string,
    private readonly plan: VmacPlan,
    private readonly io: VrrpNetIo,
    private readonly log: Logger,
    /** keepalived's nftables table (the global settings of the moment) */
    private readonly table: () => FilterTable,
  ) {}

  /** use_ipvlan (not use_vmac): `main` is an ipvlan that carries the adverts, not the VIPs */
  private get isIpvlan(): boolean {
    return !!this.cfg.useIpvlan && !this.cfg.useVmac;
  }

  get wanted(): boolean {
    return !!this.plan.main || this.plan.addressVmacs.length > 0;
  }

  /** Nothing is up yet (not started, or the interface was missing). */
  get none(): boolean {
    return this.specs.length === 0;
  }

  /**
   * Create (or take over) the macvlans with their virtual MACs and bring them up; info describes the
   * instance's interface (undefined when missing). Returns false when the instance's own VMAC failed.
   */
  async setup(info: InterfaceInfo | undefined): Promise<boolean> {
    const cfg = this.cfg;
    if (!this.io.setupVmac) {
      if (this.isIpvlan) this.log.warn(`use_ipvlan is not supported: this network edge cannot create ipvlan interfaces; the adverts leave from ${this.ifname}`);
      else
        this.log.warn(`use_vmac is not supported: this network edge cannot create macvlan interfaces; the VIPs stay on their interfaces with their own MACs`);
      return true;
    }
    if (!cfg.virtualRouterId) return true;
    let ok = true;
    if (this.plan.main && info) {
      if (cfg.unicastPeers.length && !cfg.vmacXmitBase)
        this.log.warn(`use_vmac with unicast peers needs vmac_xmit_base (keepalived.conf(5)); adverts are sent from ${this.plan.main}`);
      const configured = cfg.unicastSrcIp ?? cfg.mcastSrcIp;
      // an IPv6 VMAC sends adverts from the configured source or the base interface's link-local address
      const linkLocal = cfg.family === 6 && !cfg.vmacXmitBase ? (configured?.includes(':') ? canonicalIp(configured) : baseLinkLocal(info)) : undefined;
      const ipvlan = this.isIpvlan ? cfg.useIpvlan : undefined;
      // use_ipvlan: keepalived gives the ipvlan no link-local address of its own
      const spec = this.spec(this.plan.main, this.ifname, cfg.family, ipvlan ? undefined : linkLocal);
      spec.ipv6 = cfg.virtualIpaddressExcluded.some((v) => v.prefix.family !== cfg.family);
      if (ipvlan) {
        spec.kind = 'ipvlan';
        spec.ipvlanFlags = IPVLAN_FLAGS[ipvlan.flags];
        if (ipvlan.address) spec.address = { ...ipvlan.address };
      }
      const up = await this.bringUp(spec);
      if (up) {
        this.main = spec.name;
        // keepalived's nftables VMAC rules are for macvlans (an ipvlan has the base's MAC)
        if (!ipvlan) await this.filterVmac(up.index, info.index);
      } else ok = false;
    }
    for (const a of this.plan.addressVmacs) {
      const baseInfo = a.base === this.ifname ? info : await this.io.interfaceInfo(a.base).catch(() => undefined);
      if (!baseInfo) {
        this.log.error(`cannot create VMAC interface ${a.name}: interface ${a.base} not found`);
        continue;
      }
      const spec = this.spec(a.name, a.base, a.family, a.family === 6 ? baseLinkLocal(baseInfo) : undefined);
      if (await this.bringUp(spec)) this.byAddress.set(addressVmacKey(a.base, a.family), spec.name);
    }
    return ok;
  }

  /** Whether a link event concerns our VMACs: one of them deleted, or a base interface back. */
  concerns(ev: { ifname: string; up: boolean; deleted?: boolean }): boolean {
    return this.specs.some((v) => (ev.deleted && v.name === ev.ifname) || (ev.up && v.base === ev.ifname));
  }

  /** Re-make VMACs that were deleted (by hand, or with their base interface), as keepalived; returns their names. */
  async restore(): Promise<string[]> {
    if (this.restoring || !this.io.setupVmac) return [];
    this.restoring = true;
    const remade: string[] = [];
    try {
      for (const spec of this.specs) {
        if (await this.io.interfaceInfo(spec.name).catch(() => undefined)) continue;
        if (!(await this.io.interfaceInfo(spec.base).catch(() => undefined))) continue; // when the base is back
        this.log.info(`VMAC interface ${spec.name} was deleted, re-creating it`);
        try {
          const up = await this.io.setupVmac(spec);
          for (const n of up.notices) this.log.info(n);
          remade.push(spec.name);
          if (spec.name === this.main && spec.kind !== 'ipvlan') {
            const base = await this.io.interfaceInfo(spec.base).catch(() => undefined);
            if (base) await this.filterVmac(up.index, base.index);
          }
        } catch (e) {
          this.log.error({ err: e }, `Unable to create VMAC interface ${spec.name}`);
        }
      }
    } finally {
      this.restoring = false;
    }
    return remade;
  }

  /**
   * The interface an address goes on: a VMAC when one applies, else its own (dev or the instance's).
   * Not the ipvlan: keepalived 2.2.7 leaves the VIPs on the instance's interface (seen in the VM).
   */
  devFor(v: VirtualAddress): string {
    const dev = v.dev ?? this.ifname;
    if (this.main && !this.isIpvlan && dev === this.ifname && v.prefix.family === this.cfg.family) return this.main;
    if (this.byAddress.size && addressNeedsVmac(this.cfg, v, this.ifname)) return this.byAddress.get(addressVmacKey(dev, v.prefix.family)) ?? dev;
    return dev;
  }

  /** Forget the VMACs; delete them (and restore their base interfaces' settings) when release is true. */
  async remove(release: boolean): Promise<void> {
    const specs = this.specs;
    this.specs = [];
    this.main = undefined;
    this.byAddress.clear();
    if (!release || !this.io.removeVmac) return;
    if (this.filtered) await this.filterVmac(undefined, undefined);
    for (const spec of specs) {
      try {
        for (const n of await this.io.removeVmac(spec)) this.log.info(n);
        this.log.info(`Success removing VMAC interface ${spec.name}`);
      } catch (e) {
        this.log.error({ err: e }, `Error removing VMAC interface ${spec.name}`);
      }
    }
  }

  private spec(name: string, base: string, family: 4 | 6, linkLocal: string | undefined): VmacSpec {
    return { name, base, mac: vmacAddress(this.cfg, family), family, ipv6: false, linkLocal, owner: this.cfg.name };
  }

  private async bringUp(spec: VmacSpec): Promise<VmacInfo | undefined> {
    try {
      const r = await this.io.setupVmac!(spec);
      for (const n of r.notices) this.log.info(n);
      this.specs.push(spec);
      if (spec.kind === 'ipvlan') this.log.info(`${r.created ? 'Success creating' : 'Using existing'} ipvlan interface ${r.name} on ${spec.base}`);
      else this.log.info(`${r.created ? 'Success creating' : 'Using existing'} VMAC interface ${r.name} (${spec.mac}) on ${spec.base}`);
      return r;
    } catch (e) {
      this.log.error({ err: e }, `Unable to create ${spec.kind === 'ipvlan' ? 'ipvlan' : 'VMAC'} interface ${spec.name}`);
      return undefined;
    }
  }

  /**
   * keepalived's nftables VMAC rules for the instance's own VMAC (keepalived 2.2.7 lists vrrp->ifp,
   * not the address VMACs): in its family's table, and the other family's when eVIPs of that family
   * live on it; undefined withdraws it. Failures are logged.
   */
  private async filterVmac(vmac: number | undefined, base: number | undefined): Promise<void> {
    if (!this.io.setVmacFilter) return;
    const cfg = this.cfg;
    const other = cfg.family === 4 ? 6 : 4;
    const families: (4 | 6)[] = cfg.virtualIpaddressExcluded.some((v) => v.prefix.family === other) ? [cfg.family, other] : [cfg.family];
    const entries = vmac !== undefined && base !== undefined ? [{ vmac, base, families }] : [];
    this.filtered = entries[0];
    await this.io
      .setVmacFilter(this.table(), cfg.name, entries)
      .catch((e) =>
        this.log.warn({ err: e }, entries.length ? 'cannot install the nftables rules of the VMAC' : 'cannot remove the nftables rules of the VMAC'),
      );
  }
}

/** The interface's link-local address, else the EUI-64 one of its MAC (keepalived's choice for a VMAC). */
function baseLinkLocal(info: InterfaceInfo): string | undefined {
  return info.addresses.find((a) => a.family === 6 && a.address.startsWith('fe80'))?.address ?? (info.mac ? eui64LinkLocal(info.mac) : undefined);
}
