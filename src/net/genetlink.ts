// Generic netlink: message header and family resolution through the "nlctrl" controller.
import { NETLINK_GENERIC } from '../native/constants.js';
import { attrMap, attrStr, attrString, decodeAttrs, NetlinkDecodeError, readAttrU16, readAttrU32, type NetlinkMessage } from './netlink-codec.js';
import { NetlinkSocket } from './netlink.js';
import { hasErrorCode, TskeepalivedError } from '../util/errors.js';

export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;
export const CTRL_ATTR_MCAST_GROUPS = 7;
export const CTRL_ATTR_MCAST_GRP_NAME = 1;
export const CTRL_ATTR_MCAST_GRP_ID = 2;
export const GENL_HDRLEN = 4;

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  hdrSize: number;
  maxAttr: number;
  /** multicast group name -> id */
  mcastGroups: Record<string, number>;
}

/** The kernel has no such generic netlink family (module not loaded / not built in). */
export class GenlFamilyUnavailableError extends TskeepalivedError {
  constructor(readonly family: string) {
    super(`generic netlink family "${family}" is not available in this kernel (module not loaded or not built in)`, 'TSK_ERR_GENL_FAMILY_UNAVAILABLE');
    this.name = 'GenlFamilyUnavailableError';
  }
}

/** struct genlmsghdr: cmd, version, reserved. */
export function encodeGenlHeader(cmd: number, version: number): Buffer {
  return Buffer.from([cmd, version, 0, 0]);
}

export function decodeGenlHeader(payload: Buffer): { cmd: number; version: number; attrs: Buffer } {
  if (payload.length < GENL_HDRLEN) throw new NetlinkDecodeError('short genlmsghdr');
  return { cmd: payload[0], version: payload[1], attrs: payload.subarray(GENL_HDRLEN) };
}

export function encodeGetFamily(name: string): Buffer {
  return Buffer.concat([encodeGenlHeader(CTRL_CMD_GETFAMILY, 1), attrStr(CTRL_ATTR_FAMILY_NAME, name)]);
}

export function decodeFamily(m: NetlinkMessage): GenlFamily {
  const { attrs } = decodeGenlHeader(m.payload);
  const a = attrMap(attrs);
  const id = readAttrU16(a.get(CTRL_ATTR_FAMILY_ID));
  if (id === undefined) throw new NetlinkDecodeError('family reply without CTRL_ATTR_FAMILY_ID');
  const groups: Record<string, number> = {};
  const g = a.get(CTRL_ATTR_MCAST_GROUPS);
  if (g) {
    for (const entry of decodeAttrs(g)) {
      const e = attrMap(entry.data);
      const gname = e.get(CTRL_ATTR_MCAST_GRP_NAME);
      const gid = readAttrU32(e.get(CTRL_ATTR_MCAST_GRP_ID));
      if (gname && gid !== undefined) groups[attrString(gname)] = gid;
    }
  }
  return {
    id,
    name: a.has(CTRL_ATTR_FAMILY_NAME) ? attrString(a.get(CTRL_ATTR_FAMILY_NAME)!) : '',
    version: readAttrU32(a.get(CTRL_ATTR_VERSION)) ?? 0,
    hdrSize: readAttrU32(a.get(CTRL_ATTR_HDRSIZE)) ?? 0,
    maxAttr: readAttrU32(a.get(CTRL_ATTR_MAXATTR)) ?? 0,
    mcastGroups: groups,
  };
}

/** Open a NETLINK_GENERIC socket (callers then use request() with a resolved family id). */
export function openGenlSocket(label = 'genetlink'): NetlinkSocket {
  return NetlinkSocket.open(NETLINK_GENERIC, label);
}

/** Resolve a generic netlink family by name (e.g. "IPVS"). Throws GenlFamilyUnavailableError when absent. */
export function resolveGenlFamily(name: string, nl?: NetlinkSocket): GenlFamily {
  const sock = nl ?? openGenlSocket();
  try {
    const replies = sock.request(`resolve generic netlink family ${name}`, GENL_ID_CTRL, 0, encodeGetFamily(name));
    if (replies.length === 0) throw new GenlFamilyUnavailableError(name);
    return decodeFamily(replies[0]);
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT')) throw new GenlFamilyUnavailableError(name);
    throw e;
  } finally {
    if (!nl) sock.close();
  }
}
