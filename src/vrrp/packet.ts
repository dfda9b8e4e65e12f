// VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6.
// Pure functions over Buffers; decoding never throws, it returns a named error.
import { pseudoHeader, IPPROTO_VRRP } from './checksum.js';
import { internetChecksum } from '../util/internet-checksum.js';
import { formatIP, parseIP } from '../util/inet.js';

export const VRRP_TYPE_ADVERTISEMENT = 1;
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
export const VRRP_HEADER_LEN = 8;
export const V2_AUTH_LEN = 8;

export interface VrrpAdvert {
  version: 2 | 3;
  type: number;
  vrid: number;
  priority: number;
  family: 4 | 6;
  /** canonical text form */
  addresses: string[];
  /**
   * Advertisement interval in ms: v2 carries whole seconds (8 bits), v3 centiseconds (12 bits).
   */
  advertIntMs: number;
  /** v2 only: 0 none, 1 simple text password, 2 IP AH */
  authType: number;
  /** v2 only: the 8 bytes of authentication data */
  authData: Buffer;
  checksum: number;
}

export interface AdvertToEncode {
  version: 2 | 3;
  vrid: number;
  priority: number;
  family: 4 | 6;
  addresses: string[];
  advertIntMs: number;
  /** v2: a password (PASS) -> auth type 1, padded with NULs / truncated to 8 bytes */
  authPass?: string;
  /** v2: IPsec AH (the packet travels inside AH, see ah.ts) -> auth type 2, authentication bytes zero */
  ah?: boolean;
}

/** keepalived's password field: the first 8 bytes, NUL-padded. */
export function passwordBytes(pass: string | undefined): Buffer {
  const out = Buffer.alloc(V2_AUTH_LEN);
  if (pass !== undefined) Buffer.from(pass, 'utf8').copy(out, 0, 0, V2_AUTH_LEN);
  return out;
}

/** The advertisement interval as carried on the wire (v2: whole seconds 1..255, v3: centiseconds 1..4095). */
export function encodedInterval(version: 2 | 3, ms: number): number {
  if (version === 2) return Math.max(1, Math.min(255, Math.round(ms / 1000)));
  return Math.max(1, Math.min(4095, Math.round(ms / 10)));
}

/**
 * Encode the VRRP payload (no IP header). `src`/`dst` are needed for the VRRPv3 pseudo-header
 * checksum; VRRPv2 checksums the VRRP message alone.
 */
export function encodeAdvert(a: AdvertToEncode, src: string, dst: string): Buffer {
  const alen = a.family === 4 ? 4 : 16;
  if (a.addresses.length > 255) throw new Error('too many addresses in one advertisement (max 255)');
  const authLen = a.version === 2 ? V2_AUTH_LEN : 0;
  const buf = Buffer.alloc(VRRP_HEADER_LEN + a.addresses.length * alen + authLen);
  buf[0] = (a.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[1] = a.vrid;
  buf[2] = a.priority;
  buf[3] = a.addresses.length;
  const iv = encodedInterval(a.version, a.advertIntMs);
  if (a.version === 2) {
    buf[4] = a.ah ? AUTH_AH : a.authPass !== undefined ? AUTH_PASS : AUTH_NONE;
    buf[5] = iv;
  } else {
    buf.writeUInt16BE(iv & 0x0fff, 4);
  }
  a.addresses.forEach((addr, i) => {
    const b = parseIP(addr);
    if (b.length !== alen) throw new Error(`address ${addr} is not IPv${a.family}`);
    b.copy(buf, VRRP_HEADER_LEN + i * alen);
  });
  if (a.version === 2 && !a.ah) passwordBytes(a.authPass).copy(buf, VRRP_HEADER_LEN + a.addresses.length * alen);
  const ck = a.version === 2 ? internetChecksum(buf) : internetChecksum(pseudoHeader(src, dst, buf.length), buf);
  buf.writeUInt16BE(ck, 6);
  return buf;
}

/** An interval in ms rounded to what the wire can carry. */
export function wireIntervalMs(version: 2 | 3, ms: number): number {
  return encodedInterval(version, ms) * (version === 2 ? 1000 : 10);
}

export type DecodeError = 'too-short' | 'bad-version' | 'length-mismatch';

export type DecodeResult = { ok: true; advert: VrrpAdvert } | { ok: false; reason: DecodeError; detail: string };

/** Decode a VRRP payload. Checksum is not verified here (see verifyChecksum). */
export function decodeAdvert(buf: Buffer, family: 4 | 6): DecodeResult {
  if (buf.length < VRRP_HEADER_LEN) return { ok: false, reason: 'too-short', detail: `${buf.length} bytes` };
  const version = buf[0] >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'bad-version', detail: `version ${version}` };
  const count = buf[3];
  const alen = family === 4 ? 4 : 16;
  const authLen = version === 2 && family === 4 ? V2_AUTH_LEN : 0;
  const expected = VRRP_HEADER_LEN + count * alen + authLen;
  if (buf.length < expected) return { ok: false, reason: 'length-mismatch', detail: `${buf.length} bytes for ${count} addresses (need ${expected})` };
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = VRRP_HEADER_LEN + i * alen;
    addresses.push(formatIP(buf.subarray(off, off + alen)));
  }
  const authOff = VRRP_HEADER_LEN + count * alen;
  return {
    ok: true,
    advert: {
      version: version as 2 | 3,
      type: buf[0] & 0x0f,
      vrid: buf[1],
      priority: buf[2],
      family,
      addresses,
      advertIntMs: version === 2 ? buf[5] * 1000 : (buf.readUInt16BE(4) & 0x0fff) * 10,
      authType: version === 2 ? buf[4] : 0,
      authData: authLen ? Buffer.from(buf.subarray(authOff, authOff + authLen)) : Buffer.alloc(0),
      checksum: buf.readUInt16BE(6),
    },
  };
}

/** True when the checksum of a received VRRP payload is valid. */
export function verifyChecksum(buf: Buffer, version: number, src: string, dst: string): boolean {
  if (version === 2) return internetChecksum(buf) === 0;
  return internetChecksum(pseudoHeader(src, dst, buf.length), buf) === 0;
}

export interface IpEnvelope {
  family: 4 | 6;
  src: string;
  dst: string;
  /** TTL / hop limit */
  ttl: number;
  protocol: number;
  payload: Buffer;
}

/** Parse an IPv4 packet (as delivered by an AF_INET raw socket) or an IPv6 packet (with its fixed header). */
export function parseIpPacket(buf: Buffer): { ok: true; ip: IpEnvelope } | { ok: false; detail: string } {
  if (buf.length < 1) return { ok: false, detail: 'empty packet' };
  const v = buf[0] >> 4;
  if (v === 4) {
    const ihl = (buf[0] & 0x0f) * 4;
    if (ihl < 20 || buf.length < ihl) return { ok: false, detail: 'truncated IPv4 header' };
    const total = buf.readUInt16BE(2);
    const end = Math.min(buf.length, total || buf.length);
    return {
      ok: true,
      ip: {
        family: 4,
        ttl: buf[8],
        protocol: buf[9],
        src: formatIP(buf.subarray(12, 16)),
        dst: formatIP(buf.subarray(16, 20)),
        payload: buf.subarray(ihl, end),
      },
    };
  }
  if (v === 6) {
    if (buf.length < 40) return { ok: false, detail: 'truncated IPv6 header' };
    const plen = buf.readUInt16BE(4);
    return {
      ok: true,
      ip: {
        family: 6,
        ttl: buf[7],
        protocol: buf[6],
        src: formatIP(buf.subarray(8, 24)),
        dst: formatIP(buf.subarray(24, 40)),
        payload: buf.subarray(40, Math.min(buf.length, 40 + plen)),
      },
    };
  }
  return { ok: false, detail: `IP version ${v}` };
}

export { IPPROTO_VRRP };
