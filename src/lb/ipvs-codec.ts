// Pure codec for the kernel IPVS generic netlink interface (include/uapi/linux/ip_vs.h).
// Builds the generic netlink payloads (genlmsghdr + attributes) of IPVS commands and decodes the
// services and destinations of GET_SERVICE / GET_DEST dumps. The nlmsghdr (type = the IPVS family id
// resolved at run time, flags, seq) is added by the socket layer.
import type { Destination, Service, ServiceKey } from './backend.js';
import { formatIP, parseIP, maskPrefixLength, prefixToDottedMask, type Family } from '../util/inet.js';
import {
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  schedFlagBits,
  schedFlagNames,
} from './sched-flags.js';
import { readU16, readU32, writeU16, writeU32 } from '../native/host-order.js';
import { decodeGenlHeader, encodeGenlHeader } from '../net/genetlink.js';
import { attrMap as netlinkAttrMap, attrNested, attrStr, attrString, encodeAttr } from '../net/netlink-codec.js';
import { TskeepalivedError } from '../util/errors.js';

// IPVS attribute payloads: host-order u16/u32, ports in network order
function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  writeU16(b, v, 0);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  writeU32(b, v, 0);
  return b;
}
function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
/** replies are decoded strictly: a malformed attribute is an error, not the end of the run */
const attrMap = (b: Buffer): Map<number, Buffer> => netlinkAttrMap(b, 0, true);

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

// commands
export const IPVS_CMD_NEW_SERVICE = 1;
export const IPVS_CMD_SET_SERVICE = 2;
export const IPVS_CMD_DEL_SERVICE = 3;
export const IPVS_CMD_GET_SERVICE = 4;
export const IPVS_CMD_NEW_DEST = 5;
export const IPVS_CMD_SET_DEST = 6;
export const IPVS_CMD_DEL_DEST = 7;
export const IPVS_CMD_GET_DEST = 8;
export const IPVS_CMD_FLUSH = 17;

// first-level attributes
export const IPVS_CMD_ATTR_SERVICE = 1;
export const IPVS_CMD_ATTR_DEST = 2;

// service attributes (nested in IPVS_CMD_ATTR_SERVICE)
export const IPVS_SVC_ATTR_AF = 1;
export const IPVS_SVC_ATTR_PROTOCOL = 2;
export const IPVS_SVC_ATTR_ADDR = 3;
export const IPVS_SVC_ATTR_PORT = 4;
export const IPVS_SVC_ATTR_FWMARK = 5;
export const IPVS_SVC_ATTR_SCHED_NAME = 6;
export const IPVS_SVC_ATTR_FLAGS = 7;
export const IPVS_SVC_ATTR_TIMEOUT = 8;
export const IPVS_SVC_ATTR_NETMASK = 9;
export const IPVS_SVC_ATTR_STATS = 10;
export const IPVS_SVC_ATTR_PE_NAME = 11;
export const IPVS_SVC_ATTR_STATS64 = 12;

// destination attributes (nested in IPVS_CMD_ATTR_DEST)
export const IPVS_DEST_ATTR_ADDR = 1;
export const IPVS_DEST_ATTR_PORT = 2;
export const IPVS_DEST_ATTR_FWD_METHOD = 3;
export const IPVS_DEST_ATTR_WEIGHT = 4;
export const IPVS_DEST_ATTR_U_THRESH = 5;
export const IPVS_DEST_ATTR_L_THRESH = 6;
export const IPVS_DEST_ATTR_ACTIVE_CONNS = 7;
export const IPVS_DEST_ATTR_INACT_CONNS = 8;
export const IPVS_DEST_ATTR_PERSIST_CONNS = 9;
export const IPVS_DEST_ATTR_STATS = 10;
export const IPVS_DEST_ATTR_ADDR_FAMILY = 11;

// forwarding methods (IP_VS_CONN_F_FWD_MASK part of conn flags)
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

/** IP_VS_SCHEDNAME_MAXLEN: 16 bytes including the NUL */
export const IP_VS_SCHEDNAME_MAXLEN = 16;

const PROTO_NUM = { TCP: IPPROTO_TCP, UDP: IPPROTO_UDP, SCTP: IPPROTO_SCTP } as const;

function afOf(f: Family): number {
  return f === 6 ? AF_INET6 : AF_INET;
}

/** union nf_inet_addr: 16 bytes, an IPv4 address in the first 4. */
export function inetAddr16(address: string): Buffer {
  const out = Buffer.alloc(16);
  parseIP(address).copy(out, 0);
  return out;
}

export function fwdMethod(kind: Destination['lbKind']): number {
  return kind === 'DR' ? IP_VS_CONN_F_DROUTE : kind === 'TUN' ? IP_VS_CONN_F_TUNNEL : IP_VS_CONN_F_MASQ;
}

/** Service flags word: persistent, one-packet and scheduler flag bits. */
export function serviceFlags(s: Service): number {
  let f = schedFlagBits(s.schedFlags).bits;
  if (s.persistenceTimeout !== undefined) f |= IP_VS_SVC_F_PERSISTENT;
  if (s.ops) f |= IP_VS_SVC_F_ONEPACKET;
  return f;
}

/**
 * IPVS_SVC_ATTR_NETMASK value as 4 bytes: IPv4 = the mask itself in network order (kernel __be32);
 * IPv6 = the prefix length as a host-order u32 (what the kernel compares with 1..128).
 */
export function netmaskBytes(s: Service): Buffer {
  const fam = s.key.family;
  const len = s.persistenceNetmask !== undefined ? maskPrefixLength(s.persistenceNetmask, fam) : undefined;
  if (fam === 6) return u32(len ?? 128);
  return parseIP(prefixToDottedMask(len ?? 32));
}

/** The attributes identifying a service (what DEL_SERVICE, *_DEST and GET_DEST need). */
export function serviceKeyAttrs(k: ServiceKey): Buffer[] {
  const attrs = [encodeAttr(IPVS_SVC_ATTR_AF, u16(afOf(k.family)))];
  if (k.kind === 'fwmark') attrs.push(encodeAttr(IPVS_SVC_ATTR_FWMARK, u32(k.fwmark ?? 0)));
  else
    attrs.push(
      encodeAttr(IPVS_SVC_ATTR_PROTOCOL, u16(PROTO_NUM[k.protocol])),
      encodeAttr(IPVS_SVC_ATTR_ADDR, inetAddr16(k.address ?? '')),
      encodeAttr(IPVS_SVC_ATTR_PORT, be16(k.port ?? 0)),
    );
  return attrs;
}

/** Key plus scheduler, flags (struct ip_vs_flags {flags, mask}), timeout and netmask. */
export function serviceFullAttrs(s: Service): Buffer[] {
  if (Buffer.byteLength(s.scheduler) >= IP_VS_SCHEDNAME_MAXLEN) throw new Error(`scheduler name too long: "${s.scheduler}"`);
  return [
    ...serviceKeyAttrs(s.key),
    attrStr(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler),
    encodeAttr(IPVS_SVC_ATTR_FLAGS, Buffer.concat([u32(serviceFlags(s)), u32(0xffffffff)])),
    encodeAttr(IPVS_SVC_ATTR_TIMEOUT, u32(s.persistenceTimeout ?? 0)),
    encodeAttr(IPVS_SVC_ATTR_NETMASK, netmaskBytes(s)),
  ];
}

export function destKeyAttrs(d: Destination): Buffer[] {
  return [
    encodeAttr(IPVS_DEST_ATTR_ADDR_FAMILY, u16(afOf(d.family))),
    encodeAttr(IPVS_DEST_ATTR_ADDR, inetAddr16(d.address)),
    encodeAttr(IPVS_DEST_ATTR_PORT, be16(d.port)),
  ];
}

export function destFullAttrs(d: Destination): Buffer[] {
  return [
    ...destKeyAttrs(d),
    encodeAttr(IPVS_DEST_ATTR_FWD_METHOD, u32(fwdMethod(d.lbKind))),
    encodeAttr(IPVS_DEST_ATTR_WEIGHT, u32(d.weight)),
    encodeAttr(IPVS_DEST_ATTR_U_THRESH, u32(d.uthreshold ?? 0)),
    encodeAttr(IPVS_DEST_ATTR_L_THRESH, u32(d.lthreshold ?? 0)),
  ];
}

function cmd(c: number, attrs: Buffer[]): Buffer {
  return Buffer.concat([encodeGenlHeader(c, IPVS_GENL_VERSION), ...attrs]);
}

export const encodeNewService = (s: Service): Buffer => cmd(IPVS_CMD_NEW_SERVICE, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceFullAttrs(s))]);
export const encodeSetService = (s: Service): Buffer => cmd(IPVS_CMD_SET_SERVICE, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceFullAttrs(s))]);
export const encodeDelService = (k: ServiceKey): Buffer => cmd(IPVS_CMD_DEL_SERVICE, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(k))]);
export const encodeNewDest = (k: ServiceKey, d: Destination): Buffer =>
  cmd(IPVS_CMD_NEW_DEST, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(k)), attrNested(IPVS_CMD_ATTR_DEST, destFullAttrs(d))]);
export const encodeSetDest = (k: ServiceKey, d: Destination): Buffer =>
  cmd(IPVS_CMD_SET_DEST, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(k)), attrNested(IPVS_CMD_ATTR_DEST, destFullAttrs(d))]);
export const encodeDelDest = (k: ServiceKey, d: Destination): Buffer =>
  cmd(IPVS_CMD_DEL_DEST, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(k)), attrNested(IPVS_CMD_ATTR_DEST, destKeyAttrs(d))]);
/** GET_SERVICE with NLM_F_DUMP: every service. */
export const encodeGetServices = (): Buffer => cmd(IPVS_CMD_GET_SERVICE, []);
/** GET_DEST with NLM_F_DUMP: the destinations of one service. */
export const encodeGetDests = (k: ServiceKey): Buffer => cmd(IPVS_CMD_GET_DEST, [attrNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(k))]);
export const encodeFlush = (): Buffer => cmd(IPVS_CMD_FLUSH, []);

export class IpvsDecodeError extends TskeepalivedError {
  constructor(message: string) {
    super(message, 'TSK_ERR_IPVS_DECODE');
    this.name = 'IpvsDecodeError';
  }
}

function familyOfAf(af: number): Family {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  throw new IpvsDecodeError(`unknown address family ${af}`);
}

function need(m: Map<number, Buffer>, type: number, what: string, minLen: number): Buffer {
  const v = m.get(type);
  if (!v || v.length < minLen) throw new IpvsDecodeError(`IPVS answer without ${what}`);
  return v;
}

function protoName(n: number): Service['key']['protocol'] {
  if (n === IPPROTO_TCP) return 'TCP';
  if (n === IPPROTO_UDP) return 'UDP';
  if (n === IPPROTO_SCTP) return 'SCTP';
  throw new IpvsDecodeError(`unknown IPVS service protocol ${n}`);
}

/** A service (without destinations) from a NEW_SERVICE message of a GET_SERVICE dump (the genl payload). */
export function decodeServiceMessage(payload: Buffer): Service {
  const g = decodeGenlHeader(payload);
  if (g.cmd !== IPVS_CMD_NEW_SERVICE) throw new IpvsDecodeError(`expected IPVS_CMD_NEW_SERVICE, got command ${g.cmd}`);
  const nest = need(attrMap(g.attrs), IPVS_CMD_ATTR_SERVICE, 'IPVS_CMD_ATTR_SERVICE', 0);
  return decodeServiceAttrs(attrMap(nest));
}

export function decodeServiceAttrs(a: Map<number, Buffer>): Service {
  const family = familyOfAf(readU16(need(a, IPVS_SVC_ATTR_AF, 'service address family', 2), 0));
  const fwmark = a.get(IPVS_SVC_ATTR_FWMARK);
  let key: ServiceKey;
  if (fwmark && readU32(fwmark, 0) !== 0) key = { kind: 'fwmark', family, protocol: 'TCP', fwmark: readU32(fwmark, 0) };
  else
    key = {
      kind: 'addr',
      family,
      protocol: protoName(readU16(need(a, IPVS_SVC_ATTR_PROTOCOL, 'service protocol', 2), 0)),
      address: formatIP(need(a, IPVS_SVC_ATTR_ADDR, 'service address', family === 6 ? 16 : 4), 0, family === 6 ? 16 : 4),
      port: need(a, IPVS_SVC_ATTR_PORT, 'service port', 2).readUInt16BE(0),
    };
  const flagsBuf = a.get(IPVS_SVC_ATTR_FLAGS);
  const flags = flagsBuf && flagsBuf.length >= 4 ? readU32(flagsBuf, 0) : 0;
  const scheduler = attrString(need(a, IPVS_SVC_ATTR_SCHED_NAME, 'scheduler name', 1));
  const s: Service = { key, scheduler, ops: (flags & IP_VS_SVC_F_ONEPACKET) !== 0, destinations: [] };
  const names = schedFlagNames(scheduler, flags & (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3));
  if (names.length) s.schedFlags = names;
  if (flags & IP_VS_SVC_F_PERSISTENT) {
    const t = a.get(IPVS_SVC_ATTR_TIMEOUT);
    s.persistenceTimeout = t && t.length >= 4 ? readU32(t, 0) : 0;
    const nm = a.get(IPVS_SVC_ATTR_NETMASK);
    if (nm && nm.length >= 4) {
      if (family === 6) {
        const len = readU32(nm, 0);
        if (len !== 128) s.persistenceNetmask = String(len);
      } else {
        const mask = formatIP(nm, 0, 4);
        if (mask !== '255.255.255.255') s.persistenceNetmask = mask;
      }
    }
  }
  const pe = a.get(IPVS_SVC_ATTR_PE_NAME);
  if (pe && attrString(pe)) (s as Service & { peName?: string }).peName = attrString(pe);
  return s;
}

/** A destination from a NEW_DEST message of a GET_DEST dump; the family defaults to the service's. */
export function decodeDestMessage(payload: Buffer, serviceFamily: Family): Destination & { activeConns?: number; inactConns?: number } {
  const g = decodeGenlHeader(payload);
  if (g.cmd !== IPVS_CMD_NEW_DEST) throw new IpvsDecodeError(`expected IPVS_CMD_NEW_DEST, got command ${g.cmd}`);
  const a = attrMap(need(attrMap(g.attrs), IPVS_CMD_ATTR_DEST, 'IPVS_CMD_ATTR_DEST', 0));
  const afBuf = a.get(IPVS_DEST_ATTR_ADDR_FAMILY);
  const family = afBuf && afBuf.length >= 2 ? familyOfAf(readU16(afBuf, 0)) : serviceFamily;
  const fwd = a.get(IPVS_DEST_ATTR_FWD_METHOD);
  const method = fwd && fwd.length >= 4 ? readU32(fwd, 0) & IP_VS_CONN_F_FWD_MASK : IP_VS_CONN_F_MASQ;
  const u32Of = (t: number): number | undefined => {
    const b = a.get(t);
    return b && b.length >= 4 ? readU32(b, 0) : undefined;
  };
  const d: Destination & { activeConns?: number; inactConns?: number } = {
    address: formatIP(need(a, IPVS_DEST_ATTR_ADDR, 'destination address', family === 6 ? 16 : 4), 0, family === 6 ? 16 : 4),
    family,
    port: need(a, IPVS_DEST_ATTR_PORT, 'destination port', 2).readUInt16BE(0),
    weight: (u32Of(IPVS_DEST_ATTR_WEIGHT) ?? 0) | 0,
    lbKind: method === IP_VS_CONN_F_TUNNEL ? 'TUN' : method === IP_VS_CONN_F_MASQ ? 'NAT' : 'DR',
  };
  const ut = u32Of(IPVS_DEST_ATTR_U_THRESH);
  const lt = u32Of(IPVS_DEST_ATTR_L_THRESH);
  if (ut) d.uthreshold = ut;
  if (lt) d.lthreshold = lt;
  const ac = u32Of(IPVS_DEST_ATTR_ACTIVE_CONNS);
  const ic = u32Of(IPVS_DEST_ATTR_INACT_CONNS);
  if (ac !== undefined) d.activeConns = ac;
  if (ic !== undefined) d.inactConns = ic;
  return d;
}
