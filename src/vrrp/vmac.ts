// use_vmac naming and addressing, as keepalived 2.2.7 (pure).
import type { GlobalDefs, VrrpInstance } from '../config/model.js';

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
export function vmacAddress(inst: Pick<VrrpInstance, 'family' | 'virtualRouterId' | 'vmacMac'>): string {
  const vrid = inst.virtualRouterId ?? 0;
  if (inst.vmacMac) {
    const octets = inst.vmacMac.split(':').filter((o) => o !== '');
    if (octets.length === 5) octets.push(vrid.toString(16));
    return octets.map((o) => o.toLowerCase().padStart(2, '0')).join(':');
  }
  return virtualMac(inst.family, vrid);
}

/** "<prefix>.<vrid>", the prefix shortened so that the name fits IFNAMSIZ. */
function fitName(prefix: string, num: string, vrid: number): string {
  const tail = `${num}.${vrid}`;
  return prefix.slice(0, Math.max(0, MAX_IFNAME - tail.length)) + tail;
}

/**
 * VMAC interface names for the use_vmac instances: the configured name, else vmac_prefix (default
 * "vrrp") + ".VRID", with a number after the prefix when another instance already has that name
 * (IPv6 instances try 6 first: vrrp6.VRID).
 */
export function assignVmacNames(instances: VrrpInstance[], global: Pick<GlobalDefs, 'vmacPrefix'>): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const i of instances) {
    if (typeof i.useVmac === 'string') {
      names.set(i.name, i.useVmac);
      taken.add(i.useVmac);
    }
  }
  const prefix = global.vmacPrefix || 'vrrp';
  for (const i of instances) {
    if (i.useVmac !== true) continue;
    const vrid = i.virtualRouterId ?? 0;
    const order = i.family === 6 ? ['', '6', '1', '2', '3', '4', '5'] : ['', '1', '2', '3', '4', '5', '6'];
    let n = 7;
    let name = '';
    for (let k = 0; ; k++) {
      const num = k < order.length ? order[k] : String(n++);
      name = fitName(prefix, num, vrid);
      if (!taken.has(name)) break;
    }
    taken.add(name);
    names.set(i.name, name);
  }
  return names;
}

/** The modified EUI-64 link-local address keepalived derives from a MAC (fe80::/64, U/L bit flipped). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((o) => parseInt(o, 16));
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${hex(b[0] ^ 0x02, b[1])}:${hex(b[2], 0xff)}:${hex(0xfe, b[3])}:${hex(b[4], b[5])}`;
}
