// Links (interfaces): RTM_GETLINK encoding/decoding, listing, and link-state monitoring.
import { AF_UNSPEC } from '../native/constants.js';
import { readI32, readU16, readU32, writeI32 } from '../native/host-order.js';
import { formatMac } from '../util/inet.js';
import { attrMap, attrStr, attrString, attrU32, NetlinkDecodeError, readAttrU32, type NetlinkMessage } from './netlink-codec.js';
import { NetlinkMonitor, NetlinkRequestError, routeSocket, type NetlinkSocket } from './netlink.js';
import { hasErrorCode } from '../util/errors.js';
import {
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_IPVLAN_FLAGS,
  IFLA_IPVLAN_MODE,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTMGRP_LINK,
} from './rtnl-constants.js';

export interface LinkInfo {
  index: number;
  name: string;
  /** raw IFF_* flags */
  flags: number;
  up: boolean;
  running: boolean;
  lowerUp: boolean;
  /** hardware address as xx:xx:..., '' when none */
  mac: string;
  mtu?: number;
  /** IF_OPER_* (6 = up, 2 = down) */
  operState?: number;
  masterIndex?: number;
  /** ARPHRD_* */
  type: number;
  /** IFLA_LINK: the lower device of a macvlan, vlan, veth, ... */
  linkIndex?: number;
  /** IFLA_INFO_KIND: 'macvlan', 'veth', 'bridge', ...; undefined for a plain device */
  kind?: string;
  /** IFLA_MACVLAN_MODE of a macvlan (MACVLAN_MODE_*) */
  macvlanMode?: number;
  /** IFLA_IPVLAN_MODE / IFLA_IPVLAN_FLAGS of an ipvlan (IPVLAN_MODE_*, IPVLAN_F_*) */
  ipvlanMode?: number;
  ipvlanFlags?: number;
}

const IFINFOMSG_LEN = 16;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export function encodeIfinfomsg(index = 0, family = AF_UNSPEC): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b[0] = family;
  writeI32(b, index, 4);
  return b;
}

/** Payload of a GETLINK request for one interface (by name or index). */
export function encodeGetLink(sel: { name?: string; index?: number }): Buffer {
  const parts = [encodeIfinfomsg(sel.index ?? 0), attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)];
  if (sel.name !== undefined) parts.push(attrStr(IFLA_IFNAME, sel.name));
  return Buffer.concat(parts);
}

export function decodeLink(m: NetlinkMessage): LinkInfo {
  if (m.payload.length < IFINFOMSG_LEN) throw new NetlinkDecodeError('short ifinfomsg');
  const p = m.payload;
  const flags = readU32(p, 8);
  const attrs = attrMap(p, IFINFOMSG_LEN);
  const addr = attrs.get(IFLA_ADDRESS);
  const op = attrs.get(IFLA_OPERSTATE);
  const linkInfo = attrs.get(IFLA_LINKINFO);
  const info = linkInfo ? attrMap(linkInfo) : undefined;
  const kind = info?.get(IFLA_INFO_KIND);
  const data = info?.get(IFLA_INFO_DATA);
  const kindName = kind ? attrString(kind) : undefined;
  const link: LinkInfo = {
    index: readI32(p, 4),
    name: attrs.has(IFLA_IFNAME) ? attrString(attrs.get(IFLA_IFNAME)!) : '',
    flags,
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    mac: addr ? formatMac(addr) : '',
    mtu: readAttrU32(attrs.get(IFLA_MTU)),
    operState: op?.length ? op[0] : undefined,
    masterIndex: readAttrU32(attrs.get(IFLA_MASTER)),
    type: readU16(p, 2),
  };
  const lower = readAttrU32(attrs.get(IFLA_LINK));
  if (lower !== undefined) link.linkIndex = lower;
  if (kindName !== undefined) link.kind = kindName;
  const mode = kindName === 'macvlan' && data ? readAttrU32(attrMap(data).get(IFLA_MACVLAN_MODE)) : undefined;
  if (mode !== undefined) link.macvlanMode = mode;
  if (kindName === 'ipvlan' && data) {
    const d = attrMap(data);
    const u16 = (b: Buffer | undefined) => (b && b.length >= 2 ? readU16(b, 0) : undefined);
    link.ipvlanMode = u16(d.get(IFLA_IPVLAN_MODE));
    link.ipvlanFlags = u16(d.get(IFLA_IPVLAN_FLAGS));
  }
  return link;
}

export function listLinks(nl: NetlinkSocket = routeSocket()): LinkInfo[] {
  return nl
    .dump('list links', RTM_GETLINK, encodeIfinfomsg())
    .filter((m) => m.type === RTM_NEWLINK)
    .map(decodeLink);
}

/** One interface by name or index; undefined when it does not exist. */
export function getLink(sel: string | number, nl: NetlinkSocket = routeSocket()): LinkInfo | undefined {
  const req = typeof sel === 'string' ? { name: sel } : { index: sel };
  try {
    const r = nl.request(`get link ${sel}`, RTM_GETLINK, 0, encodeGetLink(req));
    const m = r.find((x) => x.type === RTM_NEWLINK);
    return m ? decodeLink(m) : undefined;
  } catch (e) {
    if (hasErrorCode(e, 'ENODEV', 'ENOENT')) return undefined;
    throw e;
  }
}

/** Interface index of a name; throws a clear error when it does not exist. */
export function ifIndex(name: string, nl?: NetlinkSocket): number {
  const l = getLink(name, nl);
  if (!l) throw new NetlinkRequestError(`interface "${name}" does not exist`, 19 /* ENODEV */);
  return l.index;
}

export type LinkEvent = { kind: 'new' | 'del'; link: LinkInfo };

/** Watch RTMGRP_LINK: every link creation, deletion and flag/state change. */
export function watchLinks(onEvent: (e: LinkEvent) => void, onError?: (e: Error) => void, keepAlive = true): NetlinkMonitor {
  return new NetlinkMonitor(
    { groups: RTMGRP_LINK, keepAlive, label: 'link-monitor' },
    (msgs) => {
      for (const m of msgs) {
        if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
        onEvent({ kind: m.type === RTM_NEWLINK ? 'new' : 'del', link: decodeLink(m) });
      }
    },
    onError,
  );
}
