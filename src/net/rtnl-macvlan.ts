// macvlan links over rtnetlink (what `ip link add link BASE name N address MAC type macvlan mode M`,
// `ip link set N up|down`, `ip link del N` and the IPv6 addr_gen_mode setting send). Encoders are pure;
// the operations are synchronous netlink requests (NetlinkRequestError on failure).
import { AF_INET6, AF_UNSPEC } from '../native/constants.js';
import { writeI32, writeU32 } from '../native/host-order.js';
import { parseMac } from '../util/inet.js';
import { attrStr, attrU32, attrU8, encodeAttr, NLM_F_CREATE, NLM_F_EXCL } from './netlink-codec.js';
import { routeSocket, type NetlinkSocket } from './netlink.js';
import {
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  IN6_ADDR_GEN_MODE_NONE,
  MACVLAN_MODE_PRIVATE,
  RTM_DELLINK,
  RTM_NEWLINK,
} from './rtnl-constants.js';

/** struct ifinfomsg with flags / change (the 16-byte header of every link message). */
export function encodeIfinfomsgFlags(index: number, flags: number, change: number, family = AF_UNSPEC): Buffer {
  const b = Buffer.alloc(16);
  b[0] = family;
  writeI32(b, index, 4);
  writeU32(b, flags >>> 0, 8);
  writeU32(b, change >>> 0, 12);
  return b;
}

/** IFLA_LINKINFO { IFLA_INFO_KIND "macvlan", IFLA_INFO_DATA { IFLA_MACVLAN_MODE mode } } (nests without NLA_F_NESTED, as iproute2). */
function macvlanLinkInfo(mode: number): Buffer {
  const kind = encodeAttr(IFLA_INFO_KIND, Buffer.from('macvlan')); // no NUL, as iproute2 and keepalived
  const data = encodeAttr(IFLA_INFO_DATA, attrU32(IFLA_MACVLAN_MODE, mode));
  return encodeAttr(IFLA_LINKINFO, Buffer.concat([kind, data]));
}

export interface NewMacvlanSpec {
  name: string;
  /** ifindex of the lower (base) interface */
  linkIndex: number;
  mac: string;
  /** MACVLAN_MODE_*; keepalived uses private */
  mode?: number;
}

/** RTM_NEWLINK payload creating a macvlan. */
export function encodeNewMacvlan(spec: NewMacvlanSpec): Buffer {
  return Buffer.concat([
    encodeIfinfomsgFlags(0, 0, 0),
    macvlanLinkInfo(spec.mode ?? MACVLAN_MODE_PRIVATE),
    attrU32(IFLA_LINK, spec.linkIndex),
    attrStr(IFLA_IFNAME, spec.name),
    encodeAttr(IFLA_ADDRESS, parseMac(spec.mac)),
  ]);
}

/** RTM_NEWLINK payload changing an existing macvlan's MAC address and mode. */
export function encodeUpdateMacvlan(index: number, mac: string, mode = MACVLAN_MODE_PRIVATE): Buffer {
  return Buffer.concat([encodeIfinfomsgFlags(index, 0, 0), macvlanLinkInfo(mode), encodeAttr(IFLA_ADDRESS, parseMac(mac))]);
}

/** RTM_NEWLINK payload setting IFF_UP on or off. */
export function encodeSetLinkUp(index: number, up: boolean): Buffer {
  return encodeIfinfomsgFlags(index, up ? IFF_UP : 0, IFF_UP);
}

/** RTM_NEWLINK payload: IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } } (no automatic link-local address). */
export function encodeAddrGenModeNone(index: number): Buffer {
  const inet6 = encodeAttr(AF_INET6, attrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE));
  return Buffer.concat([encodeIfinfomsgFlags(index, 0, 0), encodeAttr(IFLA_AF_SPEC, inet6)]);
}

/** RTM_DELLINK payload. */
export function encodeDelLink(index: number): Buffer {
  return encodeIfinfomsgFlags(index, 0, 0);
}

export function createMacvlan(spec: NewMacvlanSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`create macvlan ${spec.name} on ifindex ${spec.linkIndex}`, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeNewMacvlan(spec));
}

export function updateMacvlan(index: number, mac: string, mode = MACVLAN_MODE_PRIVATE, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`update macvlan ifindex ${index}`, RTM_NEWLINK, 0, encodeUpdateMacvlan(index, mac, mode));
}

export function setLinkUp(index: number, up: boolean, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`set ifindex ${index} ${up ? 'up' : 'down'}`, RTM_NEWLINK, 0, encodeSetLinkUp(index, up));
}

export function setAddrGenModeNone(index: number, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`set addr_gen_mode none on ifindex ${index}`, RTM_NEWLINK, 0, encodeAddrGenModeNone(index));
}

export function deleteLink(index: number, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`delete link ifindex ${index}`, RTM_DELLINK, 0, encodeDelLink(index));
}
