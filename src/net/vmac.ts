// VRRP virtual-MAC interfaces (keepalived's use_vmac): a private-mode macvlan on the instance's
// interface carrying the VRRP MAC, with the kernel settings keepalived 2.2.7 applies:
//   VMAC (IPv4):  arp_ignore=1, accept_local=1, rp_filter=0, promote_secondaries=1
//   base (IPv4):  arp_ignore=1, arp_filter=1 (restored when its last VMAC goes)
//   all.rp_filter: when non-zero, raised onto default and every interface, then set to 0 (restored)
//   IPv6: addr_gen_mode none (no EUI-64 link-local from the virtual MAC, RFC 5798 7.4); an IPv4 VMAC
//   has IPv6 disabled unless eVIPs of the other family need it; an IPv6 VMAC gets the given link-local.
// use_ipvlan goes through the same manager (kind 'ipvlan'): an l2 ipvlan (the base's MAC) with the
// configured flags, IPv6 as above, brought up with the configured address, no sysctls (keepalived 2.2.7
// sets none for it).
import { addAddress } from './rtnl-addr.js';
import { getLink, listLinks, type LinkInfo } from './rtnl-link.js';
import { IPVLAN_MODE_L2, MACVLAN_MODE_PRIVATE } from './rtnl-constants.js';
import { createIpvlan } from './rtnl-ipvlan.js';
import { createMacvlan, deleteLink, setAddrGenModeNone, setLinkUp, updateMacvlan } from './rtnl-macvlan.js';
import { ipv4ConfPath, ipv6ConfPath, readSysctl, writeSysctl } from './sysctl.js';
import { hasErrorCode, TskeepalivedError } from '../util/errors.js';

/** A VRRP virtual-MAC (macvlan) interface as keepalived's use_vmac builds it. */
export interface VmacSpec {
  /** name of the macvlan interface */
  name: string;
  /** the interface it is created on */
  base: string;
  /** xx:xx:xx:xx:xx:xx */
  mac: string;
  /** the instance's address family (IPv4 VMACs get arp_ignore / accept_local / rp_filter settings) */
  family: 4 | 6;
  /** keep IPv6 enabled on an IPv4 VMAC (eVIPs of the other family live on it) */
  ipv6: boolean;
  /** IPv6 link-local address given to the VMAC (IPv6 instances sending from it) */
  linkLocal?: string;
  /** instance name, for log messages */
  owner: string;
  /** use_ipvlan: an l2 ipvlan instead of a macvlan (`mac` unused: an ipvlan has its base's) */
  kind?: 'ipvlan';
  /** IPVLAN_F_* (0: bridge) */
  ipvlanFlags?: number;
  /** use_ipvlan's address, put on the ipvlan once it is up */
  address?: { address: string; prefixLen: number; family: 4 | 6 };
}

export interface VmacInfo {
  name: string;
  index: number;
  /** false when a matching interface already existed and was taken over */
  created: boolean;
  /** what was changed on the way (sysctl notices), for the log */
  notices: string[];
}

export class VmacError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_VMAC');
    this.name = 'VmacError';
  }
}

const VMAC_IPV4_SETTINGS: [string, number][] = [
  ['arp_ignore', 1],
  ['accept_local', 1],
  ['rp_filter', 0],
  ['promote_secondaries', 1],
];

interface SavedBase {
  users: number;
  arpIgnore: number | undefined;
  arpFilter: number | undefined;
}

interface SavedRpFilter {
  all: number;
  default?: number;
  interfaces: Map<string, number>;
}

export class VmacManager {
  private readonly bases = new Map<string, SavedBase>();
  private rpFilter: SavedRpFilter | undefined;
  /** VMACs set up here, by name */
  private readonly owned = new Map<string, VmacSpec>();

  private notices: string[] = [];

  private notice(message: string): void {
    this.notices.push(message);
  }

  private takeNotices(): string[] {
    const n = this.notices;
    this.notices = [];
    return n;
  }

  setup(spec: VmacSpec): VmacInfo {
    this.notices = [];
    const base = getLink(spec.base);
    if (!base) throw new VmacError(`(${spec.owner}) cannot create VMAC interface ${spec.name}: interface ${spec.base} does not exist`);
    if (spec.kind === 'ipvlan') return this.setupIpvlan(spec, base);
    const existing = getLink(spec.name);
    let link = existing;
    let created = true;
    if (existing) {
      if (existing.kind !== 'macvlan') throw new VmacError(`VMAC ${spec.name} conflicts with existing interface`);
      if (existing.linkIndex !== base.index) {
        this.notice(`(${spec.owner}) Removing old VMAC interface ${spec.name} due to conflicting interface`);
        deleteLink(existing.index);
        link = undefined;
      } else if (existing.mac !== spec.mac || existing.macvlanMode !== MACVLAN_MODE_PRIVATE) {
        this.notice(`(${spec.owner}) Update old VMAC interface ${spec.name} due to wrong MAC/mode`);
        updateMacvlan(existing.index, spec.mac, MACVLAN_MODE_PRIVATE);
      } else created = false;
    }
    if (!link) {
      createMacvlan({ name: spec.name, linkIndex: base.index, mac: spec.mac, mode: MACVLAN_MODE_PRIVATE });
      link = getLink(spec.name);
      if (!link) throw new VmacError(`(${spec.owner}) VMAC interface ${spec.name} vanished after creation`);
    }
    const wasOwned = this.owned.has(spec.name);
    this.owned.set(spec.name, spec);
    if (spec.family === 4 && created) this.applyIpv4Settings(spec, base, !wasOwned);
    writeIfExists(ipv6ConfPath(spec.name, 'disable_ipv6'), spec.family === 4 && !spec.ipv6 ? 1 : 0);
    // addr_gen_mode cannot go with the creation request, and must precede link up
    if (spec.family === 6 || spec.ipv6) setAddrGenModeNone(link.index);
    setLinkUp(link.index, true);
    if (spec.family === 6 && spec.linkLocal) {
      try {
        addAddress({ address: spec.linkLocal, prefixLen: 64, ifindex: link.index, noDad: true });
      } catch (e) {
        if (!hasErrorCode(e, 'EEXIST')) throw e;
      }
    }
    return { name: spec.name, index: link.index, created, notices: this.takeNotices() };
  }

  /**
   * keepalived's use_ipvlan: an l2 ipvlan with the configured flags (an existing l2 ipvlan on the same
   * base is taken over; anything else of that name is an error), IPv6 off on an IPv4 instance's
   * without eVIPs of the other family, up, then the configured address.
   */
  private setupIpvlan(spec: VmacSpec, base: LinkInfo): VmacInfo {
    let link = getLink(spec.name);
    let created = false;
    if (link && (link.kind !== 'ipvlan' || link.ipvlanMode !== IPVLAN_MODE_L2 || link.linkIndex !== base.index))
      throw new VmacError(`(${spec.owner}) interface ${spec.name} already exists and is not an l2 ipvlan on ${spec.base}`);
    if (!link) {
      createIpvlan({ name: spec.name, linkIndex: base.index, mode: IPVLAN_MODE_L2, flags: spec.ipvlanFlags ?? 0 });
      link = getLink(spec.name);
      if (!link) throw new VmacError(`(${spec.owner}) ipvlan interface ${spec.name} vanished after creation`);
      created = true;
    }
    this.owned.set(spec.name, spec);
    writeIfExists(ipv6ConfPath(spec.name, 'disable_ipv6'), spec.family === 4 && !spec.ipv6 ? 1 : 0);
    setLinkUp(link.index, true);
    if (spec.address) {
      try {
        addAddress({ address: spec.address.address, prefixLen: spec.address.prefixLen, ifindex: link.index });
      } catch (e) {
        if (!hasErrorCode(e, 'EEXIST')) throw e;
      }
    }
    return { name: spec.name, index: link.index, created, notices: this.takeNotices() };
  }

  /** Delete a VMAC (or ipvlan) set up here; returns the notices for the log. */
  remove(spec: VmacSpec): string[] {
    this.notices = [];
    if (!this.owned.delete(spec.name)) return [];
    if (spec.family === 4 && spec.kind !== 'ipvlan') this.releaseBase(spec.base);
    const link = getLink(spec.name);
    if (link && link.kind === (spec.kind ?? 'macvlan')) {
      try {
        deleteLink(link.index);
      } catch (e) {
        if (!hasErrorCode(e, 'ENODEV')) throw e;
      }
    }
    if (this.owned.size === 0) this.restoreRpFilter();
    return this.takeNotices();
  }

  /** newUser: false when a VMAC of ours is re-created (it already counts as a user of its base). */
  private applyIpv4Settings(spec: VmacSpec, base: LinkInfo, newUser: boolean): void {
    this.clearRpFilter();
    for (const [param, value] of VMAC_IPV4_SETTINGS) writeSysctl(ipv4ConfPath(spec.name, param), value);
    const saved = this.bases.get(base.name);
    if (saved) {
      if (newUser) saved.users++;
      return;
    }
    const arpIgnore = readSysctl(ipv4ConfPath(base.name, 'arp_ignore'));
    const arpFilter = readSysctl(ipv4ConfPath(base.name, 'arp_filter'));
    if (arpIgnore !== 1) writeSysctl(ipv4ConfPath(base.name, 'arp_ignore'), 1);
    if (arpFilter !== 1) writeSysctl(ipv4ConfPath(base.name, 'arp_filter'), 1);
    this.bases.set(base.name, { users: 1, arpIgnore, arpFilter });
  }

  private releaseBase(name: string): void {
    const saved = this.bases.get(name);
    if (!saved || --saved.users > 0) return;
    this.bases.delete(name);
    if (saved.arpIgnore !== undefined) writeIfExists(ipv4ConfPath(name, 'arp_ignore'), saved.arpIgnore);
    if (saved.arpFilter !== undefined) writeIfExists(ipv4ConfPath(name, 'arp_filter'), saved.arpFilter);
  }

  /** IPv4 VMACs need rp_filter 0, which needs all.rp_filter 0: move its value down onto every interface. */
  private clearRpFilter(): void {
    if (this.rpFilter) return;
    const all = readSysctl(ipv4ConfPath('all', 'rp_filter'));
    if (!all) return;
    const saved: SavedRpFilter = { all, interfaces: new Map() };
    const def = readSysctl(ipv4ConfPath('default', 'rp_filter'));
    if (def !== undefined && def < all) {
      this.notice(`NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from ${def} to ${all}`);
      writeSysctl(ipv4ConfPath('default', 'rp_filter'), all);
      saved.default = def;
    }
    for (const l of listLinks()) {
      const v = readSysctl(ipv4ConfPath(l.name, 'rp_filter'));
      if (v !== undefined && v < all) {
        writeIfExists(ipv4ConfPath(l.name, 'rp_filter'), all);
        saved.interfaces.set(l.name, v);
      }
    }
    this.notice(`NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from ${all} to 0`);
    writeSysctl(ipv4ConfPath('all', 'rp_filter'), 0);
    this.rpFilter = saved;
  }

  private restoreRpFilter(): void {
    const saved = this.rpFilter;
    if (!saved) return;
    this.rpFilter = undefined;
    if (readSysctl(ipv4ConfPath('all', 'rp_filter')) === 0) {
      this.notice(`NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to ${saved.all}`);
      writeIfExists(ipv4ConfPath('all', 'rp_filter'), saved.all);
    }
    if (saved.default !== undefined && readSysctl(ipv4ConfPath('default', 'rp_filter')) === saved.all) {
      this.notice(`NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to ${saved.default}`);
      writeIfExists(ipv4ConfPath('default', 'rp_filter'), saved.default);
    }
    for (const [name, v] of saved.interfaces) if (readSysctl(ipv4ConfPath(name, 'rp_filter')) === saved.all) writeIfExists(ipv4ConfPath(name, 'rp_filter'), v);
  }
}

/** Write a sysctl whose interface may have gone meanwhile (not an error then). */
function writeIfExists(path: string, value: number): void {
  if (readSysctl(path) === undefined) return;
  writeSysctl(path, value);
}
