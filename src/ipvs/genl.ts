// Pure netlink / generic netlink message building and parsing (what the IPVS codec needs).
// Netlink headers and attribute headers are in host byte order; payloads as each attribute defines.
import { endianness } from 'node:os';

const LE = endianness() === 'LE';

export const NLMSG_HDRLEN = 16;
export const GENL_HDRLEN = 4;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;

/** NLA_F_NESTED / NLA_F_NET_BYTEORDER bits of the attribute type */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** generic netlink controller */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_VERSION = 2;

export const align4 = (n: number): number => (n + 3) & ~3;

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}
export function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function readU16(b: Buffer, off = 0): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}
export function readU32(b: Buffer, off = 0): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}
export function readI32(b: Buffer, off = 0): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off);
}

/** One attribute: 4-byte header (len incl. header, type) + payload, padded to 4 bytes. */
export function nla(type: number, payload: Buffer): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  const hdr = Buffer.concat([u16(len), u16(type)]);
  hdr.copy(out, 0);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

/** A NUL-terminated string attribute. */
export function nlaString(type: number, s: string): Buffer {
  return nla(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
}

/** A nested attribute, with NLA_F_NESTED set as libnl 3.5+ (and so ipvsadm) sends it; the kernel masks the flag. */
export function nlaNest(type: number, children: Buffer[]): Buffer {
  return nla(type | NLA_F_NESTED, Buffer.concat(children));
}

export interface ParsedAttr {
  type: number;
  payload: Buffer;
}

/** Parse a run of attributes; a malformed length stops parsing with an error. */
export function parseAttrs(buf: Buffer): ParsedAttr[] {
  const out: ParsedAttr[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = readU16(buf, off);
    const type = readU16(buf, off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > buf.length) throw new Error(`malformed netlink attribute at offset ${off} (len ${len})`);
    out.push({ type, payload: buf.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins, as nla_parse does). */
export function attrMap(buf: Buffer): Map<number, Buffer> {
  return new Map(parseAttrs(buf).map((a) => [a.type, a.payload]));
}

export function nlaGetString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul >= 0 ? nul : b.length).toString('utf8');
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** nlmsghdr (len, type, flags, seq, pid) + payload, padded to 4 bytes. */
export function encodeNlmsg(m: NlMessage): Buffer {
  const len = NLMSG_HDRLEN + m.payload.length;
  const out = Buffer.alloc(align4(len));
  Buffer.concat([u32(len), u16(m.type), u16(m.flags), u32(m.seq), u32(m.pid)]).copy(out, 0);
  m.payload.copy(out, NLMSG_HDRLEN);
  return out;
}

export function decodeNlmsgs(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new Error(`malformed netlink message at offset ${off} (len ${len})`);
    out.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** genlmsghdr (cmd, version, reserved u16) followed by attributes. */
export function encodeGenlPayload(cmd: number, version: number, attrs: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
}

export interface GenlPayload {
  cmd: number;
  version: number;
  attrs: Buffer;
}

export function decodeGenlPayload(p: Buffer): GenlPayload {
  if (p.length < GENL_HDRLEN) throw new Error(`generic netlink payload too short (${p.length} bytes)`);
  return { cmd: p[0]!, version: p[1]!, attrs: p.subarray(GENL_HDRLEN) };
}

/** The errno of an NLMSG_ERROR message (0 = ACK), as a positive number. */
export function decodeNlError(m: NlMessage): number {
  if (m.payload.length < 4) throw new Error('truncated netlink error message');
  return -readI32(m.payload, 0);
}

/** CTRL_CMD_GETFAMILY for a family name (the payload; nlmsg type GENL_ID_CTRL). */
export function encodeGetFamily(name: string): Buffer {
  return encodeGenlPayload(CTRL_CMD_GETFAMILY, CTRL_VERSION, [nlaString(CTRL_ATTR_FAMILY_NAME, name)]);
}

/** The family id in a CTRL_CMD_NEWFAMILY answer. */
export function decodeFamilyId(payload: Buffer): number {
  const g = decodeGenlPayload(payload);
  const id = attrMap(g.attrs).get(CTRL_ATTR_FAMILY_ID);
  if (!id || id.length < 2) throw new Error('generic netlink controller answer without CTRL_ATTR_FAMILY_ID');
  return readU16(id, 0);
}
