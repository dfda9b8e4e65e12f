// ipvlan links over rtnetlink (what `ip link add link BASE name N type ipvlan mode l2 [bridge|private|vepa]`
// sends; set up, down and deletion are the macvlan file's link requests). The encoder is pure; the
// operation is a synchronous netlink request (NetlinkRequestError on failure: EOPNOTSUPP where the kernel
// has no ipvlan).
import { attrStr, attrU16, attrU32, encodeAttr, NLM_F_CREATE, NLM_F_EXCL } from './netlink-codec.js';
import { routeSocket, type NetlinkSocket } from './netlink.js';
import { encodeIfinfomsgFlags } from './rtnl-macvlan.js';
import {
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_IPVLAN_FLAGS,
  IFLA_IPVLAN_MODE,
  IFLA_LINK,
  IFLA_LINKINFO,
  IPVLAN_MODE_L2,
  RTM_NEWLINK,
} from './rtnl-constants.js';

export interface NewIpvlanSpec {
  name: string;
  /** ifindex of the lower (base) interface */
  linkIndex: number;
  /** IPVLAN_MODE_*; keepalived 2.2.7 always uses l2 (the ipvlan receives the VRRP multicast) */
  mode?: number;
  /** IPVLAN_F_* (0: bridge, keepalived's default) */
  flags?: number;
}

/**
 * RTM_NEWLINK payload creating an ipvlan: IFLA_LINK, IFLA_IFNAME, then IFLA_LINKINFO { IFLA_INFO_KIND
 * "ipvlan", IFLA_INFO_DATA { IFLA_IPVLAN_MODE u16, IFLA_IPVLAN_FLAGS u16 } }, in keepalived's order
 * (nests without NLA_F_NESTED, the kind without NUL, as iproute2 and keepalived).
 */
export function encodeNewIpvlan(spec: NewIpvlanSpec): Buffer {
  const data = encodeAttr(IFLA_INFO_DATA, Buffer.concat([attrU16(IFLA_IPVLAN_MODE, spec.mode ?? IPVLAN_MODE_L2), attrU16(IFLA_IPVLAN_FLAGS, spec.flags ?? 0)]));
  const info = encodeAttr(IFLA_LINKINFO, Buffer.concat([encodeAttr(IFLA_INFO_KIND, Buffer.from('ipvlan')), data]));
  return Buffer.concat([encodeIfinfomsgFlags(0, 0, 0), attrU32(IFLA_LINK, spec.linkIndex), attrStr(IFLA_IFNAME, spec.name), info]);
}

export function createIpvlan(spec: NewIpvlanSpec, nl: NetlinkSocket = routeSocket()): void {
  nl.request(`create ipvlan ${spec.name} on ifindex ${spec.linkIndex}`, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeNewIpvlan(spec));
}
