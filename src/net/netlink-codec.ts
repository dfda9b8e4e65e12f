// Generic netlink message framing: nlmsghdr and attribute (rtattr / nlattr) TLVs. Pure.
import { readI32, readU16, readU32, writeI32, writeU16, writeU32 } from '../native/host-order.js';
import { TskeepalivedError } from '../util/errors.js';

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** on NLMSG_ERROR: extended ACK TLVs follow */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** payload after the 16-byte header */
  payload: Buffer;
}

export interface Attr {
  type: number;
  data: Buffer;
}

export class NetlinkDecodeError extends TskeepalivedError {
  constructor(what: string) {
    super(`netlink decode: ${what}`, 'TSK_ERR_NETLINK_DECODE');
    this.name = 'NetlinkDecodeError';
  }
}

export function encodeMessage(m: { type: number; flags: number; seq?: number; pid?: number; payload: Buffer }): Buffer {
  const len = NLMSG_HDRLEN + m.payload.length;
  const b = Buffer.alloc(align4(len));
  writeU32(b, len, 0);
  writeU16(b, m.type, 4);
  writeU16(b, m.flags, 6);
  writeU32(b, m.seq ?? 0, 8);
  writeU32(b, m.pid ?? 0, 12);
  m.payload.copy(b, NLMSG_HDRLEN);
  return b;
}

/** Split a datagram into netlink messages; throws NetlinkDecodeError on a malformed length. */
export function decodeMessages(b: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= b.length) {
    const len = readU32(b, off);
    if (len < NLMSG_HDRLEN || off + len > b.length) {
      throw new NetlinkDecodeError(`message length ${len} at offset ${off} exceeds datagram of ${b.length}`);
    }
    out.push({
      type: readU16(b, off + 4),
      flags: readU16(b, off + 6),
      seq: readU32(b, off + 8),
      pid: readU32(b, off + 12),
      payload: b.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Parsed NLMSG_ERROR: error is 0 for an ACK, else a positive errno. */
export interface NetlinkError {
  errno: number;
  /** sequence number of the request this answers */
  seq: number;
  /** kernel's extended-ack message, when provided */
  message?: string;
}

export function decodeError(m: NetlinkMessage): NetlinkError {
  if (m.payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError('short NLMSG_ERROR');
  const err = readI32(m.payload, 0);
  const seq = readU32(m.payload, 4 + 8);
  const res: NetlinkError = { errno: -err, seq };
  if (m.flags & NLM_F_ACK_TLVS) {
    // the original request is echoed in full unless NLM_F_CAPPED (0x100) is set
    const origLen = m.flags & 0x100 ? NLMSG_HDRLEN : readU32(m.payload, 4);
    const tlvStart = 4 + align4(origLen);
    if (tlvStart <= m.payload.length) {
      for (const a of decodeAttrs(m.payload, tlvStart)) {
        if (a.type === NLMSGERR_ATTR_MSG) res.message = attrString(a.data);
      }
    }
  }
  return res;
}

// ---------------------------------------------------------------- attributes

export function encodeAttr(type: number, data: Buffer): Buffer {
  const len = NLA_HDRLEN + data.length;
  const b = Buffer.alloc(align4(len));
  writeU16(b, len, 0);
  writeU16(b, type, 2);
  data.copy(b, NLA_HDRLEN);
  return b;
}

export const attrU8 = (type: number, v: number): Buffer => encodeAttr(type, Buffer.from([v & 0xff]));
export function attrU16(type: number, v: number): Buffer {
  const d = Buffer.alloc(2);
  writeU16(d, v, 0);
  return encodeAttr(type, d);
}
export function attrU32(type: number, v: number): Buffer {
  const d = Buffer.alloc(4);
  writeU32(d, v, 0);
  return encodeAttr(type, d);
}
export function attrI32(type: number, v: number): Buffer {
  const d = Buffer.alloc(4);
  writeI32(d, v, 0);
  return encodeAttr(type, d);
}
/** NUL-terminated string attribute. */
export const attrString = (data: Buffer): string => {
  const nul = data.indexOf(0);
  return data.subarray(0, nul < 0 ? data.length : nul).toString('utf8');
};
export const attrStr = (type: number, s: string): Buffer => encodeAttr(type, Buffer.concat([Buffer.from(s), Buffer.from([0])]));
export const attrNested = (type: number, children: Buffer[]): Buffer => encodeAttr(type | NLA_F_NESTED, Buffer.concat(children));

/** The attributes of a run; a malformed length ends the run, or throws NetlinkDecodeError when `strict`. */
export function decodeAttrs(b: Buffer, offset = 0, strict = false): Attr[] {
  const out: Attr[] = [];
  let off = offset;
  while (off + NLA_HDRLEN <= b.length) {
    const len = readU16(b, off);
    if (len < NLA_HDRLEN || off + len > b.length) {
      if (strict) throw new NetlinkDecodeError(`malformed netlink attribute at offset ${off} (len ${len})`);
      break;
    }
    out.push({ type: readU16(b, off + 2) & NLA_TYPE_MASK, data: b.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes as a map by type (last one wins). */
export function attrMap(b: Buffer, offset = 0, strict = false): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of decodeAttrs(b, offset, strict)) m.set(a.type, a.data);
  return m;
}

export const readAttrU32 = (d: Buffer | undefined): number | undefined => (d && d.length >= 4 ? readU32(d, 0) : undefined);
export const readAttrU16 = (d: Buffer | undefined): number | undefined => (d && d.length >= 2 ? readU16(d, 0) : undefined);
