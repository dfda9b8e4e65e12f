// Interface addresses: RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR encoding, decoding, I/O and monitoring.
import { AF_INET, AF_INET6, AF_UNSPEC } from '../native/constants.js';
import { readU32, writeU32 } from '../native/host-order.js';
import { formatIP, ipFamily, parseIP } from '../util/inet.js';
import {
  attrMap,
  attrStr,
  attrString,
  attrU32,
  encodeAttr,
  NetlinkDecodeError,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  readAttrU32,
  type NetlinkMessage,
} from './netlink-codec.js';
import { NetlinkMonitor, routeSocket, type NetlinkSocket } from './netlink.js';
import {
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV6_IFADDR,
  SCOPES,
} from './rtnl-constants.js';
import { TskeepalivedError } from '../util/errors.js';

export interface AddressSpec {
  address: string;
  prefixLen: number;
  ifindex: number;
  /** peer address for point-to-point (IFA_ADDRESS); defaults to address */
  peer?: string;
  /** IPv4 broadcast */
  broadcast?: string;
  /** IPv4 label, must start with the interface name (e.g. eth0:vip) */
  label?: string;
  /** RT_SCOPE_* number or name (global, site, link, host) */
  scope?: number | string;
  /** IPv6: skip duplicate address detection (keepalived does this for VIPs) */
  noDad?: boolean;
  /** extra IFA_F_* flags */
  flags?: number;
  /** seconds; 0xffffffff = forever */
  preferredLft?: number;
  validLft?: number;
}

export interface AddressInfo {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  ifindex: number;
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: number;
  flags: number;
}

const IFADDRMSG_LEN = 8;
const FOREVER = 0xffffffff;

export class AddressSpecError extends TskeepalivedError {
  constructor(what: string) {
    super(`address: ${what}`, 'TSK_ERR_ADDRESS_SPEC');
    this.name = 'AddressSpecError';
  }
}

function scopeNumber(s: number | string | undefined): number {
  if (s === undefined) return RT_SCOPE_UNIVERSE;
  if (typeof s === 'number') return s;
  const n = SCOPES[s] ?? (/^\d+$/.test(s) ? Number(s) : undefined);
  if (n === undefined || n > 255) throw new AddressSpecError(`unknown scope "${s}"`);
  return n;
}

export function encodeIfaddrmsg(family: number, prefixLen: number, flags: number, scope: number, ifindex: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = family;
  b[1] = prefixLen;
  b[2] = flags & 0xff;
  b[3] = scope;
  writeU32(b, ifindex, 4);
  return b;
}

/** Payload of RTM_NEWADDR / RTM_DELADDR for one address. */
export function encodeAddress(spec: AddressSpec): Buffer {
  const fam = ipFamily(spec.address);
  if (!fam) throw new AddressSpecError(`"${spec.address}" is not an IP address`);
  const max = fam === 4 ? 32 : 128;
  if (!Number.isInteger(spec.prefixLen) || spec.prefixLen < 0 || spec.prefixLen > max) {
    throw new AddressSpecError(`prefix length ${spec.prefixLen} out of range 0..${max} for ${spec.address}`);
  }
  let flags = spec.flags ?? 0;
  if (spec.noDad && fam === 6) flags |= IFA_F_NODAD;
  const parts = [
    encodeIfaddrmsg(fam === 4 ? AF_INET : AF_INET6, spec.prefixLen, flags, scopeNumber(spec.scope), spec.ifindex),
    encodeAttr(IFA_LOCAL, parseIP(spec.address)),
    encodeAttr(IFA_ADDRESS, parseIP(spec.peer ?? spec.address)),
  ];
  if (spec.broadcast !== undefined) {
    if (fam !== 4 || ipFamily(spec.broadcast) !== 4) throw new AddressSpecError(`broadcast ${spec.broadcast} needs IPv4`);
    parts.push(encodeAttr(IFA_BROADCAST, parseIP(spec.broadcast)));
  }
  if (spec.label !== undefined) {
    if (fam !== 4) throw new AddressSpecError('labels exist only for IPv4 addresses');
    if (spec.label.length > 15) throw new AddressSpecError(`label "${spec.label}" longer than 15 characters`);
    parts.push(attrStr(IFA_LABEL, spec.label));
  }
  if (flags > 0xff || flags & IFA_F_NODAD) parts.push(attrU32(IFA_FLAGS, flags));
  if (spec.preferredLft !== undefined || spec.validLft !== undefined) {
    const ci = Buffer.alloc(16);
    writeU32(ci, spec.preferredLft ?? FOREVER, 0);
    writeU32(ci, spec.validLft ?? FOREVER, 4);
    parts.push(encodeAttr(IFA_CACHEINFO, ci));
  }
  return Buffer.concat(parts);
}

export function decodeAddress(m: NetlinkMessage): AddressInfo {
  const p = m.payload;
  if (p.length < IFADDRMSG_LEN) throw new NetlinkDecodeError('short ifaddrmsg');
  const attrs = attrMap(p, IFADDRMSG_LEN);
  const local = attrs.get(IFA_LOCAL);
  const addr = attrs.get(IFA_ADDRESS);
  const main = local ?? addr;
  if (!main) throw new NetlinkDecodeError('address message without IFA_LOCAL/IFA_ADDRESS');
  const info: AddressInfo = {
    family: p[0] === AF_INET6 ? 6 : 4,
    address: formatIP(main),
    prefixLen: p[1],
    ifindex: readU32(p, 4),
    scope: p[3],
    flags: readAttrU32(attrs.get(IFA_FLAGS)) ?? p[2],
  };
  if (local && addr && !local.equals(addr)) info.peer = formatIP(addr);
  const brd = attrs.get(IFA_BROADCAST);
  if (brd) info.broadcast = formatIP(brd);
  const label = attrs.get(IFA_LABEL);
  if (label) info.label = attrString(label);
  return info;
}

/** Add an address. replace=true tolerates an existing one (NLM_F_REPLACE); else EEXIST is an error. */
export function addAddress(spec: AddressSpec, opts: { replace?: boolean } = {}, nl: NetlinkSocket = routeSocket()): void {
  const flags = NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  nl.request(`add address ${spec.address}/${spec.prefixLen} on ifindex ${spec.ifindex}`, RTM_NEWADDR, flags, encodeAddress(spec));
}

export function deleteAddress(spec: AddressSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`delete address ${spec.address}/${spec.prefixLen} on ifindex ${spec.ifindex}`, RTM_DELADDR, 0, encodeAddress(spec));
}

/** Every address (optionally of one family / interface). */
export function listAddresses(filter: { family?: 4 | 6; ifindex?: number } = {}, nl: NetlinkSocket = routeSocket()): AddressInfo[] {
  const fam = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
  return nl
    .dump('list addresses', RTM_GETADDR, encodeIfaddrmsg(fam, 0, 0, 0, 0))
    .filter((m) => m.type === RTM_NEWADDR)
    .map(decodeAddress)
    .filter((a) => filter.ifindex === undefined || a.ifindex === filter.ifindex);
}

export type AddressEvent = { kind: 'new' | 'del'; address: AddressInfo };

/** Watch IPv4 and/or IPv6 address additions and removals (e.g. a VIP deleted by hand). */
export function watchAddresses(
  onEvent: (e: AddressEvent) => void,
  onError?: (e: Error) => void,
  opts: { families?: (4 | 6)[]; keepAlive?: boolean } = {},
): NetlinkMonitor {
  const fams = opts.families ?? [4, 6];
  const groups = (fams.includes(4) ? RTMGRP_IPV4_IFADDR : 0) | (fams.includes(6) ? RTMGRP_IPV6_IFADDR : 0);
  return new NetlinkMonitor(
    { groups, keepAlive: opts.keepAlive, label: 'address-monitor' },
    (msgs) => {
      for (const m of msgs) {
        if (m.type !== RTM_NEWADDR && m.type !== RTM_DELADDR) continue;
        onEvent({ kind: m.type === RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(m) });
      }
    },
    onError,
  );
}
