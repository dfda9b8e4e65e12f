// use_vmac naming and addressing, as keepalived 2.2.7 (pure).
import type { GlobalDefs, VirtualAddress, VrrpInstance } from '../config/model.js';

/** IFNAMSIZ - 1 */
const MAX_IFNAME = 15;

/** RFC 5798 section 7.3: 00-00-5E-00-01-{VRID} (IPv4), 00-00-5E-00-02-{VRID} (IPv6). */
export function virtualMac(family: 4 | 6, vrid: number): string {
  return ['00', '00', '5e', '00', family === 4 ? '01' : '02', vrid.toString(16).padStart(2, '0')].join(':');
}

/**
 * The MAC of an instance's VMAC: the configured one (use_vmac [NAME] MAC; five octets take the VRID as
 * the sixth), else the RFC 5798 virtual router MAC.
 */
export function vmacAddress(inst: Pick<VrrpInstance, 'family' | 'virtualRouterId' | 'vmacMac'>, family: 4 | 6 = inst.family): string {
  const vrid = inst.virtualRouterId ?? 0;
  if (inst.vmacMac) {
    const octets = inst.vmacMac.split(':').filter((o) => o !== '');
    if (octets.length === 5) octets.push(vrid.toString(16));
    return octets.map((o) => o.toLowerCase().padStart(2, '0')).join(':');
  }
  return virtualMac(family, vrid);
}

/** "<prefix>.<vrid>", the prefix shortened so that the name fits IFNAMSIZ. */
function fitName(prefix: string, num: string, vrid: number): string {
  const tail = `${num}.${vrid}`;
  return prefix.slice(0, Math.max(0, MAX_IFNAME - tail.length)) + tail;
}

/** A VMAC for addresses that are not on the instance's own VMAC (use_vmac_addr, or use_vmac on an address line). */
export interface AddressVmac {
  /** the interface the addresses are configured on */
  base: string;
  family: 4 | 6;
  name: string;
}

export interface VmacPlan {
  /** the instance's own VMAC (use_vmac), or its ipvlan (use_ipvlan: named as a VMAC) */
  main?: string;
  addressVmacs: AddressVmac[];
}

/** The interface of an instance, as the engine resolves it. */
const instanceIf = (i: VrrpInstance, g: Pick<GlobalDefs, 'defaultInterface'>): string => i.interface ?? g.defaultInterface ?? 'eth0';

/**
 * Which addresses need a VMAC of their own (keepalived 2.2.7's rule): those not on the instance's VMAC
 * that say use_vmac, and with use_vmac_addr those on another interface or of the other family.
 */
export function addressVmacKeys(i: VrrpInstance, g: Pick<GlobalDefs, 'defaultInterface'>): { base: string; family: 4 | 6 }[] {
  const ifname = instanceIf(i, g);
  const keys = new Map<string, { base: string; family: 4 | 6 }>();
  for (const v of [...i.virtualIpaddress, ...i.virtualIpaddressExcluded]) {
    const base = v.dev ?? ifname;
    if (addressNeedsVmac(i, v, ifname)) keys.set(addressVmacKey(base, v.prefix.family), { base, family: v.prefix.family });
  }
  return [...keys.values()];
}

export const addressVmacKey = (base: string, family: 4 | 6): string => `${base}/${family}`;

/** Whether an address goes on an address VMAC (not the instance's own VMAC, nor a plain interface). */
export function addressNeedsVmac(i: Pick<VrrpInstance, 'family' | 'useVmac' | 'useVmacAddr'>, v: VirtualAddress, ifname: string): boolean {
  const onOwnInterface = (v.dev ?? ifname) === ifname && v.prefix.family === i.family;
  if (onOwnInterface && i.useVmac) return false;
  return !!v.useVmac || (!!i.useVmacAddr && !onOwnInterface);
}

/**
 * VMAC interface names: the configured name, else vmac_prefix (default "vrrp") + ".VRID" (address
 * VMACs: vmac_addr_prefix, default vmac_prefix), with a number after the prefix when another VMAC
 * already has that name (IPv6 tries 6 first: vrrp6.VRID).
 */
export function planVmacs(instances: VrrpInstance[], global: Pick<GlobalDefs, 'vmacPrefix' | 'vmacAddrPrefix' | 'defaultInterface'>): Map<string, VmacPlan> {
  const plans = new Map<string, VmacPlan>();
  const taken = new Set<string>();
  for (const i of instances) {
    plans.set(i.name, { addressVmacs: [] });
    const named = typeof i.useVmac === 'string' ? i.useVmac : i.useIpvlan?.name;
    if (named !== undefined) {
      plans.get(i.name)!.main = named;
      taken.add(named);
    }
  }
  const unique = (prefix: string, vrid: number, family: 4 | 6): string => {
    const order = family === 6 ? ['', '6', '1', '2', '3', '4', '5'] : ['', '1', '2', '3', '4', '5', '6'];
    let n = 7;
    for (let k = 0; ; k++) {
      const name = fitName(prefix, k < order.length ? order[k] : String(n++), vrid);
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const prefix = global.vmacPrefix || 'vrrp';
  const addrPrefix = global.vmacAddrPrefix || prefix;
  // keepalived completes one instance at a time: its own VMAC, then its address VMACs
  for (const i of instances) {
    const plan = plans.get(i.name)!;
    const vrid = i.virtualRouterId ?? 0;
    if (i.useVmac === true || (i.useIpvlan && !i.useVmac && i.useIpvlan.name === undefined)) plan.main = unique(prefix, vrid, i.family);
    for (const k of addressVmacKeys(i, global)) plan.addressVmacs.push({ ...k, name: unique(addrPrefix, vrid, k.family) });
  }
  return plans;
}

/** The main VMAC names only (see planVmacs). */
export function assignVmacNames(instances: VrrpInstance[], global: Pick<GlobalDefs, 'vmacPrefix'>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [inst, plan] of planVmacs(instances, global)) if (plan.main) names.set(inst, plan.main);
  return names;
}

/** The modified EUI-64 link-local address keepalived derives from a MAC (fe80::/64, U/L bit flipped). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((o) => parseInt(o, 16));
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${hex(b[0] ^ 0x02, b[1])}:${hex(b[2], 0xff)}:${hex(0xfe, b[3])}:${hex(b[4], b[5])}`;
}
